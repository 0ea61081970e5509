// cgroup v1: a hierarchy per controller (memory; cpu, often co-mounted with cpuacct), each with
// its own files: memory.limit_in_bytes, memory.usage_in_bytes, memory.stat, memory.failcnt and
// memory.memsw.failcnt, memory.oom_control; cpu.cfs_quota_us, cpu.cfs_period_us, cpu.stat; cpuacct.stat.
import path from 'node:path';
import type { CgroupDirs, Levels } from './find.js';
import type { Cgroup, CpuReading, MemoryReading } from './cgroup.js';
import { cgroupFiles, field } from './files.js';

// "No limit" is PAGE_COUNTER_MAX pages, 2^63 - 1 rounded down to a page (9223372036854771712 with
// 4 KiB pages); anything that large is no limit whatever the page size.
const UNLIMITED = 2 ** 62;
// cpuacct.stat counts USER_HZ ticks, 100 a second on every architecture Node runs on (cpu.ts).
const SECONDS_PER_TICK = 0.01;

export function cgroupV1(dirs: Extract<CgroupDirs, { version: 1 }>): Cgroup {
  const files = cgroupFiles();
  const read = (dir: string, name: string) => files.read(path.join(dir, name));
  const require = (dir: string, name: string) => {
    const text = read(dir, name);
    if (text === undefined) throw new Error(`${path.join(dir, name)} does not exist`);
    return text;
  };

  const memoryLimit = (levels: Levels) => {
    let limit: number | undefined;
    for (const dir of levels) {
      const text = read(dir, 'memory.limit_in_bytes');
      const value = text === undefined ? NaN : Number(text);
      if (value < UNLIMITED && (limit === undefined || value < limit)) limit = value;
    }
    return limit;
  };
  const cpuLimit = (levels: Levels) => {
    let best: { value: number; dir: string } | undefined;
    for (const dir of levels) {
      const quota = Number(read(dir, 'cpu.cfs_quota_us') ?? -1);
      if (!(quota > 0)) continue; // -1: no quota
      const period = Number(read(dir, 'cpu.cfs_period_us'));
      if (!(period > 0)) continue;
      const value = quota / period;
      if (!best || value < best.value) best = { value, dir };
    }
    return best;
  };

  return {
    version: 1,
    memory(): MemoryReading | undefined {
      const levels = dirs.memory;
      if (!levels) return undefined;
      const leaf = levels[0]!;
      const usage = Number(require(leaf, 'memory.usage_in_bytes'));
      // total_*: this cgroup and its children, as usage_in_bytes counts them.
      const stat = require(leaf, 'memory.stat');
      const failcnt = read(leaf, 'memory.failcnt');
      // With swap accounting a charge is tried against memory + swap first (memory.memsw.*), and a
      // failure there is counted in its own failcnt: a container whose swap limit binds hits that one.
      const memswFailcnt = read(leaf, 'memory.memsw.failcnt');
      const oomControl = read(leaf, 'memory.oom_control');
      // The kernel's own smallest limit from this cgroup up (hierarchical_memory_limit): no read
      // per level, and it sees limits above what a namespace shows. Walked where it is missing.
      const hierarchical = field(stat, 'hierarchical_memory_limit');
      return {
        limit: hierarchical === undefined ? memoryLimit(levels) : hierarchical < UNLIMITED ? hierarchical : undefined,
        usage,
        workingSet: Math.max(0, usage - (field(stat, 'total_inactive_file') ?? 0)),
        rss: field(stat, 'total_rss') ?? 0,
        limitHits: failcnt === undefined ? undefined : Number(failcnt) + Number(memswFailcnt ?? 0),
        // oom_kill in memory.oom_control since Linux 4.13.
        oomKills: oomControl === undefined ? undefined : field(oomControl, 'oom_kill'),
      };
    },
    cpu(): CpuReading | undefined {
      const levels = dirs.cpu;
      const acct = dirs.cpuacct?.[0];
      if (!levels && !acct) return undefined;
      const limit = levels ? cpuLimit(levels) : undefined;
      const throttling = levels ? read(limit?.dir ?? levels[0]!, 'cpu.stat') : undefined;
      const ticks = acct === undefined ? undefined : read(acct, 'cpuacct.stat');
      const seconds = (key: string) => {
        const v = ticks === undefined ? undefined : field(ticks, key);
        return v === undefined ? undefined : v * SECONDS_PER_TICK;
      };
      const throttledNs = throttling === undefined ? undefined : field(throttling, 'throttled_time');
      return {
        limit: limit?.value,
        user: seconds('user'),
        system: seconds('system'),
        periods: throttling === undefined ? undefined : field(throttling, 'nr_periods'),
        throttledPeriods: throttling === undefined ? undefined : field(throttling, 'nr_throttled'),
        throttledTime: throttledNs === undefined ? undefined : throttledNs / 1e9,
      };
    },
    cpuLimit: () => (dirs.cpu ? cpuLimit(dirs.cpu)?.value : undefined),
    close: files.close,
  };
}
