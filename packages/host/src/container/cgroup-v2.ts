// cgroup v2 (the unified hierarchy): memory.max, memory.current, memory.stat, memory.events,
// cpu.max, cpu.stat; one directory per level holds every controller's files.
import path from 'node:path';
import type { Levels } from './find.js';
import type { Cgroup, CpuReading, MemoryReading } from './cgroup.js';
import { cgroupFiles, field, type CgroupFile } from './files.js';
import { sharedReading } from './shared-reading.js';

/** The smallest of a per-level value, and the level holding it (where its statistics are kept). */
function smallest<L extends { dir: string }>(levels: readonly L[], valueAt: (level: L) => number | undefined): { value: number; dir: string } | undefined {
  let best: { value: number; dir: string } | undefined;
  for (const level of levels) {
    const value = valueAt(level);
    if (value !== undefined && (!best || value < best.value)) best = { value, dir: level.dir };
  }
  return best;
}

// "max" is no limit; the root cgroup has no memory.max or cpu.max at all.
const memoryMax = (level: { memoryMax: CgroupFile }) => {
  const text = level.memoryMax.read()?.trim();
  return text === undefined || text === 'max' ? undefined : Number(text);
};
const cpuMax = (level: { cpuMax: CgroupFile }) => {
  const text = level.cpuMax.read();
  if (text === undefined) return undefined;
  const [quota, period] = text.trim().split(' ');
  return quota === 'max' || !(Number(period) > 0) ? undefined : Number(quota) / Number(period);
};

export function cgroupV2(levels: Levels): Cgroup {
  const files = cgroupFiles();
  const at = levels.map((dir) => {
    const file = (name: string) => files.file(path.join(dir, name));
    return { dir, memoryMax: file('memory.max'), cpuMax: file('cpu.max'), cpuStat: file('cpu.stat') };
  });
  const leaf = levels[0]!;
  const current = files.file(path.join(leaf, 'memory.current'));
  const stat = files.file(path.join(leaf, 'memory.stat'));
  const events = files.file(path.join(leaf, 'memory.events'));
  const cpuStatAt = new Map(at.map((level) => [level.dir, level.cpuStat]));
  const cpuLimit = sharedReading(() => smallest(at, cpuMax));

  return {
    version: 2,
    memory(onlyLimited = false): MemoryReading | undefined {
      const limit = smallest(at, memoryMax)?.value;
      if (onlyLimited && limit === undefined) return undefined;
      const text = current.read();
      if (text === undefined) return undefined; // memory controller not enabled for this cgroup
      const usage = Number(text);
      const statText = stat.require();
      const eventsText = events.read();
      return {
        limit,
        usage,
        workingSet: Math.max(0, usage - (field(statText, 'inactive_file') ?? 0)),
        rss: field(statText, 'anon') ?? 0,
        limitHits: eventsText === undefined ? undefined : field(eventsText, 'max'),
        oomKills: eventsText === undefined ? undefined : field(eventsText, 'oom_kill'),
      };
    },
    cpu(onlyLimited = false): CpuReading | undefined {
      const limit = cpuLimit('cpu');
      if (onlyLimited && limit === undefined) return undefined;
      // cpu.stat exists in every cgroup (usage even without the cpu controller); throttling is kept
      // where the quota is enforced, which may be a parent.
      const own = at[0]!.cpuStat.read();
      if (own === undefined) return undefined;
      const throttling = limit && limit.dir !== leaf ? cpuStatAt.get(limit.dir)!.require() : own;
      const usec = (text: string, key: string) => {
        const v = field(text, key);
        return v === undefined ? undefined : v / 1e6;
      };
      return {
        limit: limit?.value,
        user: usec(own, 'user_usec'),
        system: usec(own, 'system_usec'),
        periods: field(throttling, 'nr_periods'),
        throttledPeriods: field(throttling, 'nr_throttled'),
        throttledTime: usec(throttling, 'throttled_usec'),
      };
    },
    cpuLimit: () => cpuLimit('cpuLimit')?.value,
    close: files.close,
  };
}
