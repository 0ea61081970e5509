// cgroup v2 (the unified hierarchy): memory.max, memory.current, memory.stat, memory.events,
// cpu.max, cpu.stat; one directory per level holds every controller's files.
import path from 'node:path';
import type { Levels } from './find.js';
import type { Cgroup, CpuReading, MemoryReading } from './cgroup.js';
import { cgroupFiles, fields, key, numberAt, numberIn, spaceIn, type CgroupFile } from './files.js';
import { sharedReading } from './shared-reading.js';

/** The smallest of a per-level value, and the level holding it (where its statistics are kept). */
function smallest<L>(levels: readonly L[], valueAt: (level: L) => number | undefined): { value: number; level: L } | undefined {
  let best: { value: number; level: L } | undefined;
  // Indexed: an array iterator is a cost at a collection's cold start (files.ts).
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    const value = valueAt(level);
    if (value !== undefined && (!best || value < best.value)) best = { value, level };
  }
  return best;
}

// "max" is no limit (no number); the root cgroup has no memory.max or cpu.max at all.
const memoryMax = (level: { memoryMax: CgroupFile }) => {
  const value = numberIn(level.memoryMax.read());
  return value === undefined || Number.isNaN(value) ? undefined : value;
};
const cpuMax = (level: { cpuMax: CgroupFile }) => {
  // "$QUOTA $PERIOD", the quota "max" where none is set.
  const bytes = level.cpuMax.read();
  if (bytes === undefined) return undefined;
  const quota = numberAt(bytes, 0);
  const space = spaceIn(bytes);
  const period = space < 0 ? NaN : numberAt(bytes, space + 1);
  return Number.isNaN(quota) || !(period > 0) ? undefined : quota / period;
};

const MEMORY_STAT = [key('inactive_file'), key('anon')];
const MEMORY_EVENTS = [key('max'), key('oom_kill')];
const CPU_USAGE = [key('user_usec'), key('system_usec')];
const CPU_THROTTLING = [key('nr_periods'), key('nr_throttled'), key('throttled_usec')];
// fields() writes into these: each reading is taken apart before the next file is read.
const two: Array<number | undefined> = [undefined, undefined];
const three: Array<number | undefined> = [undefined, undefined, undefined];

export function cgroupV2(levels: Levels): Cgroup {
  const files = cgroupFiles();
  const at = levels.map((dir) => {
    const file = (name: string) => files.file(path.join(dir, name));
    return { memoryMax: file('memory.max'), cpuMax: file('cpu.max'), cpuStat: file('cpu.stat') };
  });
  const leaf = levels[0]!;
  const current = files.file(path.join(leaf, 'memory.current'));
  const stat = files.file(path.join(leaf, 'memory.stat'));
  const events = files.file(path.join(leaf, 'memory.events'));
  const [cpuLimitForCpu, cpuLimitForLimit] = sharedReading(() => smallest(at, cpuMax), ['cpu', 'cpuLimit']);

  return {
    version: 2,
    memory(onlyLimited = false): MemoryReading | undefined {
      const limit = smallest(at, memoryMax)?.value;
      if (onlyLimited && limit === undefined) return undefined;
      // Each parsed at once: every read reuses the one buffer of `files`.
      const usage = numberIn(current.read());
      if (usage === undefined) return undefined; // memory controller not enabled for this cgroup
      // Indexed, not destructured (files.ts: an iterator per file is a cost at a collection's cold start).
      const s = fields(stat.require(), MEMORY_STAT, two);
      const inactiveFile = s[0] ?? 0;
      const rss = s[1] ?? 0;
      const e = fields(events.read(), MEMORY_EVENTS, two);
      return { limit, usage, workingSet: Math.max(0, usage - inactiveFile), rss, limitHits: e[0], oomKills: e[1] };
    },
    cpu(onlyLimited = false): CpuReading | undefined {
      const limit = cpuLimitForCpu();
      if (onlyLimited && limit === undefined) return undefined;
      // cpu.stat exists in every cgroup (usage even without the cpu controller); throttling is kept
      // where the quota is enforced, which may be a parent.
      const own = at[0]!.cpuStat.read();
      if (own === undefined) return undefined;
      const usec = (value: number | undefined) => (value === undefined ? undefined : value / 1e6);
      const usage = fields(own, CPU_USAGE, two);
      const user = usage[0];
      const system = usage[1];
      // Read after the own file's figures are taken: the bytes are the same buffer.
      const throttlingBytes = limit && limit.level !== at[0] ? limit.level.cpuStat.require() : own;
      const t = fields(throttlingBytes, CPU_THROTTLING, three);
      return { limit: limit?.value, user: usec(user), system: usec(system), periods: t[0], throttledPeriods: t[1], throttledTime: usec(t[2]) };
    },
    cpuLimit: () => cpuLimitForLimit()?.value,
    close: files.close,
  };
}
