import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { points, start, value, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

describe('system.memory.*', () => {
  it.skipIf(process.platform !== 'linux')('agrees with /proc/meminfo: used = MemTotal - MemAvailable', async () => {
    h = start({ groups: ['memory'] });
    const c = await h.collect();
    const info = meminfo();
    const total = info.MemTotal!;
    // Other processes allocate meanwhile: within 1% of total memory.
    expect(Math.abs(value(c, 'system.memory.usage', { 'system.memory.state': 'available' }) - info.MemAvailable!)).toBeLessThan(total * 0.01);
    expect(Math.abs(value(c, 'system.memory.usage', { 'system.memory.state': 'used' }) - (total - info.MemAvailable!))).toBeLessThan(total * 0.01);
    expect(points(c, 'system.memory.usage')).toHaveLength(2);
  });

  it('reports utilization for used and available, summing to 1', async () => {
    h = start({ groups: ['memory'] });
    const c = await h.collect();
    const used = value(c, 'system.memory.utilization', { 'system.memory.state': 'used' });
    const available = value(c, 'system.memory.utilization', { 'system.memory.state': 'available' });
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(1);
    expect(used + available).toBeCloseTo(1, 9);
  });
});

describe('process.memory.usage', () => {
  it('is the RSS process.memoryUsage() reports', async () => {
    h = start({ groups: ['memory'] });
    const c = await h.collect();
    const rss = process.memoryUsage().rss;
    expect(Math.abs(value(c, 'process.memory.usage') - rss)).toBeLessThan(rss * 0.05);
  });
});
