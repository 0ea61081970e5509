import fs from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProcStat } from '../src/cpu.js';
import { burn, points, start, value, type Harness } from './support.js';

const linux = process.platform === 'linux';
const MODES = linux ? ['user', 'nice', 'system', 'idle', 'iowait', 'interrupt', 'steal'] : ['user', 'nice', 'system', 'idle', 'interrupt'];
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('parseProcStat', () => {
  it('reads the aggregate cpu line in USER_HZ ticks, softirq counted as interrupt', () => {
    const text = 'cpu  24401 3 9737 157113 547 11 2475 12 5 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n';
    const s = [...parseProcStat(text)];
    [244.01, 0.03, 97.37, 1571.13, 5.47, 24.86, 0.12].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 6));
  });
  it('refuses anything else', () => {
    expect(() => parseProcStat('intr 1 2 3\n')).toThrow(/unexpected/);
  });
});

describe('system.cpu.*', () => {
  it('reports time per mode, agreeing with os.cpus() (and /proc/stat on Linux), never decreasing', async () => {
    h = start({ groups: ['cpu'] });
    const first = await h.collect();
    expect(points(first, 'system.cpu.time')).toHaveLength(MODES.length);
    // os.cpus() is libuv's own reading of the same counters: seconds summed over CPUs.
    const sum = (field: 'user' | 'nice' | 'sys' | 'idle') => os.cpus().reduce((s, c) => s + c.times[field] / 1000, 0);
    for (const [mode, field] of [['user', 'user'], ['nice', 'nice'], ['system', 'sys'], ['idle', 'idle']] as const) {
      expect(Math.abs(value(first, 'system.cpu.time', { 'cpu.mode': mode }) - sum(field))).toBeLessThan(1);
    }
    if (linux) {
      const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).map(Number);
      expect(Math.abs(value(first, 'system.cpu.time', { 'cpu.mode': 'iowait' }) - f[5]! / 100)).toBeLessThan(1);
      expect(Math.abs(value(first, 'system.cpu.time', { 'cpu.mode': 'interrupt' }) - (f[6]! + f[7]!) / 100)).toBeLessThan(1);
      expect(Math.abs(value(first, 'system.cpu.time', { 'cpu.mode': 'steal' }) - f[8]! / 100)).toBeLessThan(1);
    }
    burn(50);
    const second = await h.collect();
    for (const m of MODES) {
      expect(value(second, 'system.cpu.time', { 'cpu.mode': m })).toBeGreaterThanOrEqual(value(first, 'system.cpu.time', { 'cpu.mode': m }));
    }
  });

  it('reports utilization per mode in [0, 1], summing to 1, and busy while a test burns CPU', async () => {
    h = start({ groups: ['cpu'] });
    await h.collect();
    burn(400);
    const c = await h.collect();
    let total = 0;
    for (const m of MODES) {
      const u = value(c, 'system.cpu.utilization', { 'cpu.mode': m });
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThanOrEqual(1);
      total += u;
    }
    expect(total).toBeCloseTo(1, 6);
    // At least one of the CPUs was busy the whole interval.
    const busy = 1 - value(c, 'system.cpu.utilization', { 'cpu.mode': 'idle' });
    expect(busy).toBeGreaterThan(0.6 / os.cpus().length);
  });
});
