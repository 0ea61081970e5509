import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { heapLimitWarning } from '../../src/container/index.js';
import { points, start, value, type Harness } from '../support.js';
import { tree, v1Tree, v2Tree, type Tree } from './tree.js';
import { CONTAINER_METRICS } from '../../src/container/container-metrics.js';

let h: Harness | undefined;
let t: Tree | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  t?.remove();
  t = undefined;
});

const MiB = 1024 * 1024;
const leaf = 'sys/fs/cgroup/kubepods.slice/pod1/c1';
const startIn = (tr: Tree, warn = vi.fn(), onError = vi.fn()) => start({ groups: ['container'], root: tr.root, warn, onError });

describe('container.* from cgroup v2 (a directory tree)', () => {
  it('reads every figure from the files, working set and available as cAdvisor computes them', async () => {
    t = v2Tree();
    const onError = vi.fn();
    h = startIn(t, vi.fn(), onError);
    const c = await h.collect();
    expect(c.errors).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
    expect(value(c, 'container.memory.limit')).toBe(256 * MiB);
    expect(value(c, 'container.memory.usage')).toBe(150_000_000);
    expect(value(c, 'container.memory.working_set')).toBe(150_000_000 - 20_000_000);
    expect(value(c, 'container.memory.available')).toBe(256 * MiB - 130_000_000);
    expect(value(c, 'container.memory.rss')).toBe(100_000_000);
    expect(value(c, 'container.memory.limit_hits')).toBe(17);
    expect(value(c, 'container.memory.oom_kills')).toBe(1);
    expect(value(c, 'container.cpu.limit')).toBe(0.5);
    expect(value(c, 'container.cpu.time', { 'cpu.mode': 'user' })).toBe(4);
    expect(value(c, 'container.cpu.time', { 'cpu.mode': 'system' })).toBe(0.5);
    expect(value(c, 'container.cpu.periods')).toBe(120);
    expect(value(c, 'container.cpu.throttled_periods')).toBe(48);
    expect(value(c, 'container.cpu.throttled_time')).toBeCloseTo(1.86, 9);
    expect([...c.metrics.keys()].sort()).toEqual([...CONTAINER_METRICS].sort());
  });

  it('re-reads the limits at each collection (a pod resized in place)', async () => {
    t = v2Tree();
    h = startIn(t);
    expect(value(await h.collect(), 'container.memory.limit')).toBe(256 * MiB);
    t.write(`${leaf}/memory.max`, `${512 * MiB}\n`);
    t.write(`${leaf}/cpu.max`, '200000 100000\n');
    const c = await h.collect();
    expect(value(c, 'container.memory.limit')).toBe(512 * MiB);
    expect(value(c, 'container.cpu.limit')).toBe(2);
  });

  it('with the cpu group collecting too, a resized quota is seen at the next collection', async () => {
    // process.cpu.utilization and container.cpu.* share one walk of the quota files per collection
    // (shared-reading.ts, whose tests show each caller gets a reading no older than its last call):
    // the sharing must never hand the container figures the previous collection's limit.
    t = v2Tree();
    h = start({ groups: ['cpu', 'container'], root: t.root, warn: vi.fn() });
    expect(value(await h.collect(), 'container.cpu.limit')).toBe(0.5);
    t.write(`${leaf}/cpu.max`, '25000 100000\n');
    expect(value(await h.collect(), 'container.cpu.limit')).toBe(0.25);
    t.write(`${leaf}/cpu.max`, '100000 100000\n');
    expect(value(await h.collect(), 'container.cpu.limit')).toBe(1);
  });

  it("takes the smallest limit on the way up, and the throttling of the cgroup whose quota binds", async () => {
    t = v2Tree({ memoryMax: 'max', podMemoryMax: String(128 * MiB), cpuMax: 'max 100000', podCpuMax: '25000 100000' });
    h = startIn(t);
    const c = await h.collect();
    expect(value(c, 'container.memory.limit')).toBe(128 * MiB);
    expect(value(c, 'container.cpu.limit')).toBe(0.25);
    expect(value(c, 'container.cpu.throttled_periods')).toBe(300);
    expect(value(c, 'container.cpu.throttled_time')).toBeCloseTo(7.5, 9);
    // CPU time stays the process's own cgroup's.
    expect(value(c, 'container.cpu.time', { 'cpu.mode': 'user' })).toBe(4);
  });

  it('a CPU limit alone: memory figures without limit or available', async () => {
    t = v2Tree({ memoryMax: 'max' });
    h = startIn(t);
    const c = await h.collect();
    expect(points(c, 'container.memory.limit')).toEqual([]);
    expect(points(c, 'container.memory.available')).toEqual([]);
    expect(value(c, 'container.memory.working_set')).toBe(130_000_000);
    expect(value(c, 'container.cpu.limit')).toBe(0.5);
  });

  it('no limit anywhere: no container series and no warning', async () => {
    t = v2Tree({ memoryMax: 'max', cpuMax: 'max 100000' });
    const warn = vi.fn();
    const onError = vi.fn();
    h = startIn(t, warn, onError);
    const c = await h.collect();
    expect([...c.metrics.keys()].filter((n) => points(c, n).length > 0)).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  it('no limit anywhere: reads the limits and not the statistics', async () => {
    t = v2Tree({ memoryMax: 'max', cpuMax: 'max 100000' });
    // Where these were read, a missing one would be reported as a failing source.
    for (const file of ['memory.stat', 'memory.events', 'cpu.stat']) fs.rmSync(`${t.root}/${leaf}/${file}`);
    const onError = vi.fn();
    h = startIn(t, vi.fn(), onError);
    const c = await h.collect();
    expect([...c.metrics.keys()].filter((n) => points(c, n).length > 0)).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
    // A limit set later (a pod resized in place) brings the figures, and the missing file is reported.
    t.write(`${leaf}/memory.max`, `${256 * MiB}\n`);
    await h.collect();
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('a memory limit alone: CPU time and throttling counts without a CPU limit', async () => {
    t = v2Tree({ cpuMax: 'max 100000' });
    h = startIn(t);
    const c = await h.collect();
    expect(value(c, 'container.memory.limit')).toBe(256 * MiB);
    expect(points(c, 'container.cpu.limit')).toEqual([]);
    expect(value(c, 'container.cpu.time', { 'cpu.mode': 'user' })).toBe(4);
    expect(value(c, 'container.cpu.periods')).toBe(120);
  });

  it('no cgroup at all (not Linux, no /proc): no series, no warning, no error', async () => {
    t = tree();
    const warn = vi.fn();
    const onError = vi.fn();
    h = startIn(t, warn, onError);
    const c = await h.collect();
    expect([...c.metrics.keys()].filter((n) => points(c, n).length > 0)).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  it('a file that cannot be read costs the container metrics and one report', async () => {
    t = v2Tree();
    fs.rmSync(`${t.root}/${leaf}/memory.stat`);
    const onError = vi.fn();
    h = startIn(t, vi.fn(), onError);
    const c = await h.collect();
    await h.collect();
    expect(points(c, 'container.memory.usage')).toEqual([]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith('container', expect.any(Error));
  });

  it("warns once at start when V8's heap limit is at or above the memory limit", async () => {
    t = v2Tree({ memoryMax: String(64 * MiB) });
    const warn = vi.fn();
    h = startIn(t, warn);
    await h.collect();
    await h.collect();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toBe('MON_HEAP_ABOVE_LIMIT');
    expect(warn.mock.calls[0]![1]).toMatch(/^V8's heap limit \(\d+ MiB\) is at or above the container's memory limit \(64 MiB\).*--max-old-space-size=48$/);
  });
});

describe('container.* from cgroup v1 (a directory tree)', () => {
  it('reads memory, cpu and cpuacct hierarchies, total_* memory figures and the OOM kills', async () => {
    t = v1Tree();
    h = startIn(t);
    const c = await h.collect();
    expect(value(c, 'container.memory.limit')).toBe(256 * MiB);
    expect(value(c, 'container.memory.working_set')).toBe(130_000_000);
    expect(value(c, 'container.memory.rss')).toBe(100_000_000);
    expect(value(c, 'container.memory.limit_hits')).toBe(4);
    expect(value(c, 'container.memory.oom_kills')).toBe(2);
    expect(value(c, 'container.cpu.limit')).toBe(0.5);
    expect(value(c, 'container.cpu.time', { 'cpu.mode': 'user' })).toBe(1.5);
    expect(value(c, 'container.cpu.time', { 'cpu.mode': 'system' })).toBe(0.25);
    expect(value(c, 'container.cpu.periods')).toBe(52);
    expect(value(c, 'container.cpu.throttled_periods')).toBe(48);
    expect(value(c, 'container.cpu.throttled_time')).toBeCloseTo(1.86, 9);
  });

  it('counts swap-limit hits (memory.memsw.failcnt) while a swap limit is set, and keeps the count read without one', async () => {
    t = v1Tree();
    const m = 'sys/fs/cgroup/memory/app';
    const stat = (memswLimit: string) =>
      `total_cache 50000000\ntotal_rss 100000000\ntotal_inactive_file 20000000\nhierarchical_memory_limit ${256 * MiB}\nhierarchical_memsw_limit ${memswLimit}\n`;
    t.write(`${m}/memory.stat`, stat('9223372036854771712'));
    h = startIn(t);
    // The first collection reads the count whatever the limit: a swap limit set and lifted before mon started left it.
    expect(value(await h.collect(), 'container.memory.limit_hits')).toBe(3 + 1);
    // No swap limit from this cgroup up: the kernel cannot move the count, so it is not read again.
    t.write(`${m}/memory.memsw.failcnt`, '5\n');
    expect(value(await h.collect(), 'container.memory.limit_hits')).toBe(3 + 1);
    // A swap limit set (a resize): read at every collection again.
    t.write(`${m}/memory.stat`, stat(String(512 * MiB)));
    expect(value(await h.collect(), 'container.memory.limit_hits')).toBe(3 + 5);
    t.write(`${m}/memory.memsw.failcnt`, '6\n');
    expect(value(await h.collect(), 'container.memory.limit_hits')).toBe(3 + 6);
  });
});

describe('container.memory.limit from cgroup v1', () => {
  it("takes the kernel's hierarchical_memory_limit where memory.stat has it, limits above the visible ones included", async () => {
    const m = 'sys/fs/cgroup/memory';
    t = tree({
      'proc/self/cgroup': '9:memory:/\n',
      'proc/self/mountinfo': '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n',
      [`${m}/memory.limit_in_bytes`]: '9223372036854771712\n',
      [`${m}/memory.usage_in_bytes`]: '1000\n',
      [`${m}/memory.stat`]: `total_rss 10\ntotal_inactive_file 0\nhierarchical_memory_limit ${128 * MiB}\n`,
    });
    // Delta: the SDK reports only what each collection observed (cumulative keeps the last value).
    h = start({ groups: ['container'], root: t.root, warn: vi.fn() }, { delta: true });
    expect(value(await h.collect(), 'container.memory.limit')).toBe(128 * MiB);
    t.write(`${m}/memory.stat`, 'total_rss 10\ntotal_inactive_file 0\nhierarchical_memory_limit 9223372036854771712\n');
    expect(points(await h.collect(), 'container.memory.limit')).toEqual([]);
  });
});

describe('heapLimitWarning', () => {
  it('names both limits and a --max-old-space-size at three quarters of the limit', () => {
    expect(heapLimitWarning(259 * MiB, 256 * MiB)).toContain('(259 MiB) is at or above the container\'s memory limit (256 MiB)');
    expect(heapLimitWarning(259 * MiB, 256 * MiB)).toMatch(/--max-old-space-size=192$/);
    expect(heapLimitWarning(256 * MiB, 256 * MiB)).toBeDefined();
    expect(heapLimitWarning(255 * MiB, 256 * MiB)).toBeUndefined();
    expect(heapLimitWarning(4096 * MiB, undefined)).toBeUndefined();
  });
});
