// cgroup v2 (the unified hierarchy): memory.max, memory.current, memory.stat, memory.events,
// cpu.max, cpu.stat; one directory per level holds every controller's files.
import path from 'node:path';
import type { Levels } from './find.js';
import type { Cgroup, CpuReading, MemoryReading } from './cgroup.js';
import { cgroupFiles, field } from './files.js';

/** The smallest of a per-level value, and the level holding it (where its statistics are kept). */
function smallest(levels: Levels, valueAt: (dir: string) => number | undefined): { value: number; dir: string } | undefined {
  let best: { value: number; dir: string } | undefined;
  for (const dir of levels) {
    const value = valueAt(dir);
    if (value !== undefined && (!best || value < best.value)) best = { value, dir };
  }
  return best;
}

export function cgroupV2(levels: Levels): Cgroup {
  const files = cgroupFiles();
  const leaf = levels[0]!;
  const read = (dir: string, name: string) => files.read(path.join(dir, name));
  const require = (dir: string, name: string) => {
    const text = read(dir, name);
    if (text === undefined) throw new Error(`${path.join(dir, name)} does not exist`);
    return text;
  };
  // "max" is no limit; the root cgroup has no memory.max or cpu.max at all.
  const memoryMax = (dir: string) => {
    const text = read(dir, 'memory.max')?.trim();
    return text === undefined || text === 'max' ? undefined : Number(text);
  };
  const cpuMax = (dir: string) => {
    const text = read(dir, 'cpu.max');
    if (text === undefined) return undefined;
    const [quota, period] = text.trim().split(' ');
    return quota === 'max' || !(Number(period) > 0) ? undefined : Number(quota) / Number(period);
  };
  const cpuLimit = () => smallest(levels, cpuMax);

  return {
    version: 2,
    memory(): MemoryReading | undefined {
      const current = read(leaf, 'memory.current');
      if (current === undefined) return undefined; // memory controller not enabled for this cgroup
      const usage = Number(current);
      const stat = require(leaf, 'memory.stat');
      const events = read(leaf, 'memory.events');
      return {
        limit: smallest(levels, memoryMax)?.value,
        usage,
        workingSet: Math.max(0, usage - (field(stat, 'inactive_file') ?? 0)),
        rss: field(stat, 'anon') ?? 0,
        limitHits: events === undefined ? undefined : field(events, 'max'),
        oomKills: events === undefined ? undefined : field(events, 'oom_kill'),
      };
    },
    cpu(): CpuReading | undefined {
      const limit = cpuLimit();
      // cpu.stat exists in every cgroup (usage even without the cpu controller); throttling is kept
      // where the quota is enforced, which may be a parent.
      const stat = read(leaf, 'cpu.stat');
      if (stat === undefined) return undefined;
      const throttling = limit ? require(limit.dir, 'cpu.stat') : stat;
      const usec = (text: string, key: string) => {
        const v = field(text, key);
        return v === undefined ? undefined : v / 1e6;
      };
      return {
        limit: limit?.value,
        user: usec(stat, 'user_usec'),
        system: usec(stat, 'system_usec'),
        periods: field(throttling, 'nr_periods'),
        throttledPeriods: field(throttling, 'nr_throttled'),
        throttledTime: usec(throttling, 'throttled_usec'),
      };
    },
    cpuLimit: () => cpuLimit()?.value,
    close: files.close,
  };
}
