import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { burn, start, value, type Collected, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const cpuTime = (c: Collected) => value(c, 'process.cpu.time', { 'cpu.mode': 'user' }) + value(c, 'process.cpu.time', { 'cpu.mode': 'system' });

describe('process.cpu.*', () => {
  it('matches process.cpuUsage() and rises while the test burns CPU', async () => {
    // The window starts at a reading taken inside start() (the last 60 s, since start before that).
    const outerStart = performance.now();
    const atStart = process.cpuUsage();
    h = start({ groups: ['cpu'] });
    const innerStart = performance.now();
    const afterStart = process.cpuUsage();
    const before = process.cpuUsage();
    const first = await h.collect();
    const between = process.cpuUsage();
    const user = value(first, 'process.cpu.time', { 'cpu.mode': 'user' });
    expect(user).toBeGreaterThanOrEqual(before.user / 1e6);
    expect(user).toBeLessThanOrEqual(between.user / 1e6);

    // Burn until the kernel has given this process 200 ms of CPU (a loaded machine gives a 400 ms
    // wall-clock burn far less), at most 10 s.
    const burnStart = process.cpuUsage();
    for (let i = 0; i < 200; i++) {
      burn(50);
      const used = process.cpuUsage(burnStart);
      if (used.user + used.system >= 200_000) break;
    }
    const innerEnd = performance.now();
    const second = await h.collect();
    const outerEnd = performance.now();
    const after = process.cpuUsage(between);
    const spent = cpuTime(second) - cpuTime(first);
    // Other test files share the CPUs, so compare with what the kernel says this process got.
    expect(spent).toBeGreaterThan(0.1);
    expect(spent).toBeLessThanOrEqual((after.user + after.system) / 1e6 + 0.01);
    expect(spent).toBeGreaterThan((after.user + after.system) / 1e6 - 0.05);

    const utilization =
      value(second, 'process.cpu.utilization', { 'cpu.mode': 'user' }) + value(second, 'process.cpu.utilization', { 'cpu.mode': 'system' });
    expect(utilization).toBeLessThanOrEqual(1);
    // mon's window runs from inside start() to inside the second collect: between the inner and
    // the outer brackets, whatever a loaded machine did between them.
    const n = os.availableParallelism();
    const cpu = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
    const most = cpuTime(second) - cpu(atStart);
    const least = cpuTime(second) - cpu(afterStart);
    expect(utilization).toBeGreaterThanOrEqual((least / ((outerEnd - outerStart) / 1000) / n) * 0.999);
    expect(utilization).toBeLessThanOrEqual((most / ((innerEnd - innerStart) / 1000) / n) * 1.001);
    expect(utilization).toBeGreaterThan(0.1 / os.availableParallelism());
  });
});
