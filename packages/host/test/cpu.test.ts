import fs from 'node:fs';
import os from 'node:os';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
    // os.cpus() is libuv's own reading of the same counters: seconds summed over CPUs. Read just
    // before and just after the collection, which lies between (idle grows by the number of CPUs
    // each second, so a loaded machine's pause would break a fixed tolerance).
    const sums = () => {
      const cpus = os.cpus();
      const sum = (field: 'user' | 'nice' | 'sys' | 'idle') => cpus.reduce((s, c) => s + c.times[field] / 1000, 0);
      return { user: sum('user'), nice: sum('nice'), system: sum('sys'), idle: sum('idle') };
    };
    const before = sums();
    const first = await h.collect();
    const after = sums();
    expect(points(first, 'system.cpu.time')).toHaveLength(MODES.length);
    for (const mode of ['user', 'nice', 'system', 'idle'] as const) {
      const seconds = value(first, 'system.cpu.time', { 'cpu.mode': mode });
      expect(seconds, mode).toBeGreaterThanOrEqual(before[mode] - 0.02);
      expect(seconds, mode).toBeLessThanOrEqual(after[mode] + 0.02);
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

  it('reports utilization per mode summing to 1, and busy while a test burns CPU', async () => {
    h = start({ groups: ['cpu'] });
    burn(400);
    const c = await h.collect();
    let total = 0;
    for (const m of MODES) total += value(c, 'system.cpu.utilization', { 'cpu.mode': m });
    expect(total).toBeCloseTo(1, 6);
    // At least one of the CPUs was busy most of the window (since start).
    const busy = 1 - value(c, 'system.cpu.utilization', { 'cpu.mode': 'idle' });
    expect(busy).toBeGreaterThan(0.6 / os.cpus().length);
  });

  it.skipIf(!linux)('counts a counter that went backwards (idle under NO_HZ) as no time, so the shares stay in [0, 1]', async () => {
    // Two readings of /proc/stat: user +100 ticks, idle -10 ticks.
    const readings = ['cpu  100 0 100 1000 0 0 0 0 0 0\n', 'cpu  200 0 100 990 0 0 0 0 0 0\n'];
    vi.resetModules();
    vi.doMock('../src/proc-file.js', () => ({ openProcFile: () => ({ read: () => readings.shift() ?? 'cpu  200 0 100 990 0 0 0 0 0 0\n', close() {} }) }));
    try {
      const { startHostMetrics } = await import('../src/index.js');
      const reader = new (class extends MetricReader {
        protected override async onShutdown() {}
        protected override async onForceFlush() {}
      })();
      const provider = new MeterProvider({ readers: [reader] });
      const host = startHostMetrics(provider, { groups: ['cpu'] });
      const { resourceMetrics } = await reader.collect();
      const points = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'system.cpu.utilization')!.dataPoints;
      const share = (mode: string) => points.find((p) => p.attributes['cpu.mode'] === mode)!.value as number;
      // Unclamped, the 10 idle ticks would make user 100/90 and idle -10/90.
      expect(share('user')).toBe(1);
      expect(share('idle')).toBe(0);
      host.stop();
      await provider.shutdown();
    } finally {
      vi.doUnmock('../src/proc-file.js');
      vi.resetModules();
    }
  });

  it.skipIf(!linux)('never leaves utilization out, and reads the window from the start whoever collected between', async () => {
    // /proc/stat at start, then at four collections: unchanged (a scrape right after start),
    // changed, unchanged (a second reader within the same tick), changed again.
    const readings = [
      'cpu  100 0 100 800 0 0 0 0 0 0\n',
      'cpu  100 0 100 800 0 0 0 0 0 0\n',
      'cpu  130 0 100 870 0 0 0 0 0 0\n',
      'cpu  130 0 100 870 0 0 0 0 0 0\n',
      'cpu  130 0 150 920 0 0 0 0 0 0\n',
    ];
    vi.resetModules();
    // /proc/stat only: the cgroup files (the CPU limit process.cpu.utilization divides by) are read as they are.
    vi.doMock('../src/proc-file.js', async (importOriginal) => {
      const actual = await importOriginal<typeof import('../src/proc-file.js')>();
      return { openProcFile: (file: string) => (file === '/proc/stat' ? { read: () => readings.shift()!, close() {} } : actual.openProcFile(file)) };
    });
    try {
      // Imported after the mock, so the harness's host metrics read the mocked file.
      const { start: startMocked } = await import('./support.js');
      // Delta: the SDK reports only what each collection observed, so a skipped gauge shows.
      h = startMocked({ groups: ['cpu'] }, { delta: true });
      const shares = async () => {
        const c = await h!.collect();
        return Object.fromEntries(['user', 'system', 'idle'].map((mode) => [mode, value(c, 'system.cpu.utilization', { 'cpu.mode': mode })]));
      };
      const near = (expected: Record<string, number>) => Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, expect.closeTo(v, 9)]));
      expect(await shares()).toEqual(near({ user: 0.1, system: 0.1, idle: 0.8 })); // since boot
      expect(await shares()).toEqual(near({ user: 0.3, system: 0, idle: 0.7 }));
      expect(await shares()).toEqual(near({ user: 0.3, system: 0, idle: 0.7 })); // the same to a second reader
      // Still from the start (the window's first reading), not from the previous collection.
      expect(await shares()).toEqual(near({ user: 0.15, system: 0.25, idle: 0.6 }));
    } finally {
      vi.doUnmock('../src/proc-file.js');
      vi.resetModules();
    }
  });
});
