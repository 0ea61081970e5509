import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { burn, start, value, type Collected, type Harness } from './support.js';
import { v2Tree, type Tree } from './container/tree.js';

let h: Harness | undefined;
let t: Tree | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  t?.remove();
  t = undefined;
});

const cpuTime = (c: Collected) => value(c, 'process.cpu.time', { 'cpu.mode': 'user' }) + value(c, 'process.cpu.time', { 'cpu.mode': 'system' });

describe('process.cpu.*', () => {
  // The second case: a container allowed half a CPU (a cgroup v2 tree with cpu.max 50000 100000).
  it.each([
    ['the CPUs of its affinity', undefined, () => os.availableParallelism()],
    ['the CPUs its container quota allows', { cpuMax: '50000 100000' }, () => Math.min(0.5, os.availableParallelism())],
  ])('matches process.cpuUsage() and rises while the test burns CPU; utilization divides by %s', async (_, container, cpus) => {
    if (container) t = v2Tree(container);
    // The window starts at a reading taken inside start() (the last 60 s, since start before that).
    const outerStart = performance.now();
    const atStart = process.cpuUsage();
    h = start({ groups: ['cpu'], ...(t ? { root: t.root } : {}) });
    const innerStart = performance.now();
    const afterStart = process.cpuUsage();
    const before = process.cpuUsage();
    const first = await h.collect();
    const between = process.cpuUsage();
    const user = value(first, 'process.cpu.time', { 'cpu.mode': 'user' });
    expect(user).toBeGreaterThanOrEqual(before.user / 1e6);
    expect(user).toBeLessThanOrEqual(between.user / 1e6);

    // 0.3 s of CPU, not of wall time: on a loaded machine 400 ms of wall time got this process 0.07 s.
    const burning = process.cpuUsage();
    const burnUntil = performance.now() + 20_000;
    while (performance.now() < burnUntil) {
      const used = process.cpuUsage(burning);
      if ((used.user + used.system) / 1e6 >= 0.3) break;
      burn(20);
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
    // A real quota holds the process to it; the tree's quota is only read, so up to 1 / n here.
    const n = cpus();
    expect(utilization).toBeLessThanOrEqual(Math.max(1, os.availableParallelism() / n));
    // mon's window runs from inside start() to inside the second collect: between the inner and
    // the outer brackets, whatever a loaded machine did between them.
    const cpu = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
    const most = cpuTime(second) - cpu(atStart);
    const least = cpuTime(second) - cpu(afterStart);
    expect(utilization).toBeGreaterThanOrEqual((least / ((outerEnd - outerStart) / 1000) / n) * 0.999);
    expect(utilization).toBeLessThanOrEqual((most / ((innerEnd - innerStart) / 1000) / n) * 1.001);
    expect(utilization).toBeGreaterThan(0.1 / n);
  });
});
