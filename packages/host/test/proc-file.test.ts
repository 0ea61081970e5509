import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openProcFile } from '../src/proc-file.js';

describe('openProcFile', () => {
  it.skipIf(process.platform !== 'linux')('reads current /proc text at each read', () => {
    const file = openProcFile('/proc/self/stat');
    try {
      const a = file.read();
      expect(a.startsWith(`${process.pid} (`)).toBe(true);
      for (let i = 0; i < 1e6; i++) Math.sqrt(i); // let utime move
      expect(file.read().length).toBeGreaterThan(0);
    } finally {
      file.close();
    }
  });

  it('grows past its first buffer, honours a byte limit, and closes once', () => {
    const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mon-proc-')), 'big');
    const text = 'x'.repeat(10_000) + '\nend';
    fs.writeFileSync(p, text);
    const file = openProcFile(p);
    expect(file.read()).toBe(text);
    expect(file.read(5)).toBe('xxxxx');
    file.close();
    expect(() => file.close()).not.toThrow();
    fs.rmSync(path.dirname(p), { recursive: true });
  });
});
