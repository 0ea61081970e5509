import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { start, value, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('process.open_file_descriptors', () => {
  it.skipIf(process.platform === 'win32')('counts the descriptors this process holds', async () => {
    h = start({ groups: ['process'] });
    const before = value(await h.collect(), 'process.open_file_descriptors');
    const fds = Array.from({ length: 20 }, () => fs.openSync(process.execPath, 'r'));
    try {
      const during = value(await h.collect(), 'process.open_file_descriptors');
      // Exactly 20 more unless the test runner opened or closed one meanwhile.
      expect(during - before).toBeGreaterThanOrEqual(19);
      expect(during - before).toBeLessThanOrEqual(22);
      if (process.platform === 'linux') expect(Math.abs(during - (fs.readdirSync('/proc/self/fd').length - 1))).toBeLessThanOrEqual(2);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  });
});

describe('process.uptime', () => {
  it('is process.uptime() in seconds', async () => {
    h = start({ groups: ['process'] });
    const c = await h.collect();
    expect(Math.abs(value(c, 'process.uptime') - process.uptime())).toBeLessThan(0.5);
  });
});
