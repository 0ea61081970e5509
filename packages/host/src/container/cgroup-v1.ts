// cgroup v1: a hierarchy per controller (memory; cpu, often co-mounted with cpuacct), each with
// its own files: memory.limit_in_bytes, memory.usage_in_bytes, memory.stat, memory.failcnt and
// memory.memsw.failcnt, memory.oom_control; cpu.cfs_quota_us, cpu.cfs_period_us, cpu.stat; cpuacct.stat.
import path from 'node:path';
import type { CgroupDirs, Levels } from './find.js';
import type { Cgroup, CpuReading, MemoryReading } from './cgroup.js';
import { cgroupFiles, field, fields, key, numberIn, type CgroupFile, type CgroupFiles } from './files.js';
import { sharedReading } from './shared-reading.js';

// "No limit" is PAGE_COUNTER_MAX pages, 2^63 - 1 rounded down to a page (9223372036854771712 with
// 4 KiB pages); anything that large is no limit whatever the page size.
const UNLIMITED = 2 ** 62;
// cpuacct.stat counts USER_HZ ticks, 100 a second on every architecture Node runs on (cpu.ts).
const SECONDS_PER_TICK = 0.01;

const CPUACCT_STAT = [key('user'), key('system')];
const CPU_STAT = [key('nr_periods'), key('nr_throttled'), key('throttled_time')];
const MEMORY_STAT = [key('hierarchical_memory_limit'), key('total_inactive_file'), key('total_rss'), key('hierarchical_memsw_limit')];
const OOM_KILL = key('oom_kill');
// fields() writes into these: each reading is taken apart before the next file is read.
const ticks: Array<number | undefined> = [undefined, undefined];
const throttling: Array<number | undefined> = [undefined, undefined, undefined];
const memoryStat: Array<number | undefined> = [undefined, undefined, undefined, undefined];

export function cgroupV1(dirs: Extract<CgroupDirs, { version: 1 }>): Cgroup {
  const files = cgroupFiles();
  const memory = dirs.memory ? memoryOf(files, dirs.memory) : undefined;
  const cpuLevels = dirs.cpu?.map((dir) => ({
    quota: files.file(path.join(dir, 'cpu.cfs_quota_us')),
    period: files.file(path.join(dir, 'cpu.cfs_period_us')),
    throttling: files.file(path.join(dir, 'cpu.stat')),
  }));
  const [quotaForCpu, quotaForLimit] = cpuLevels ? quotaOf(cpuLevels) : [undefined, undefined];
  const acct = dirs.cpuacct ? files.file(path.join(dirs.cpuacct[0]!, 'cpuacct.stat')) : undefined;
  // Where no quota is set, the throttling figures (all zero) come from this cgroup's own cpu.stat.
  const ownThrottling = cpuLevels?.[0]!.throttling;

  return {
    version: 1,
    memory: (onlyLimited = false) => memory?.(onlyLimited),
    cpu(onlyLimited = false): CpuReading | undefined {
      if (!quotaForCpu && !acct) return undefined;
      const limit = quotaForCpu?.();
      if (onlyLimited && limit === undefined) return undefined;
      // Parsed at once: each read reuses the one buffer of `files`. Indexed, not destructured
      // (files.ts: an iterator per file is a cost at a collection's cold start).
      const t = fields((limit?.throttling ?? ownThrottling)?.read(), CPU_STAT, throttling);
      const periods = t[0];
      const throttledPeriods = t[1];
      const throttledNs = t[2];
      const ticksRead = fields(acct?.read(), CPUACCT_STAT, ticks);
      const user = ticksRead[0];
      const system = ticksRead[1];
      return {
        limit: limit?.value,
        user: user === undefined ? undefined : user * SECONDS_PER_TICK,
        system: system === undefined ? undefined : system * SECONDS_PER_TICK,
        periods,
        throttledPeriods,
        throttledTime: throttledNs === undefined ? undefined : throttledNs / 1e9,
      };
    },
    cpuLimit: () => quotaForLimit?.()?.value,
    close: files.close,
  };
}

/** A quota in CPUs, and the cpu.stat of the level that sets it (where its throttling is counted). */
interface Quota {
  value: number;
  throttling: CgroupFile;
}

/**
 * The smallest quota / period from this cgroup up, shared by container.cpu.* and the process CPU
 * utilization's denominator (one reader for each, in that order).
 */
function quotaOf(at: ReadonlyArray<{ quota: CgroupFile; period: CgroupFile; throttling: CgroupFile }>) {
  return sharedReading((): Quota | undefined => {
    let best: Quota | undefined;
    for (let i = 0; i < at.length; i++) {
      const level = at[i]!;
      const quota = numberIn(level.quota.read()) ?? -1;
      if (!(quota > 0)) continue; // -1: no quota
      const period = numberIn(level.period.read()) ?? NaN;
      if (!(period > 0)) continue;
      const value = quota / period;
      if (!best || value < best.value) best = { value, throttling: level.throttling };
    }
    return best;
  }, ['cpu', 'cpuLimit']);
}

function memoryOf(files: CgroupFiles, levels: Levels): (onlyLimited: boolean) => MemoryReading | undefined {
  const leaf = levels[0]!;
  const file = (name: string) => files.file(path.join(leaf, name));
  const usage = file('memory.usage_in_bytes');
  const stat = file('memory.stat');
  const oomControl = file('memory.oom_control');
  const failcnt = file('memory.failcnt');
  // With swap accounting a charge is tried against memory + swap first (memory.memsw.*), and a
  // failure there is counted in its own failcnt: a container whose swap limit binds hits that one.
  const memswFailcnt = file('memory.memsw.failcnt');
  // That count moves only while a swap limit is set from this cgroup up, which memory.stat (read
  // anyway) names: without one, the count read once stands, and a collection costs one read less
  // (5-10 µs, a tenth of the group's cost: RESULTS.md "Container collection"). Where memory.stat
  // names no swap limit at all (no swap accounting), the file is absent and costs nothing either.
  let memswHits: number | undefined;
  let memswRead = false;
  const limitsAt = levels.map((dir) => files.file(path.join(dir, 'memory.limit_in_bytes')));
  const walkedLimit = () => {
    let limit: number | undefined;
    for (const f of limitsAt) {
      const value = numberIn(f.read()) ?? NaN;
      if (value < UNLIMITED && (limit === undefined || value < limit)) limit = value;
    }
    return limit;
  };

  return (onlyLimited) => {
    // total_*: this cgroup and its children, as usage_in_bytes counts them.
    // The kernel's own smallest limit from this cgroup up (hierarchical_memory_limit): no read per
    // level, and it sees limits above what a namespace shows. Walked where it is missing.
    const m = fields(stat.require(), MEMORY_STAT, memoryStat);
    const hierarchical = m[0];
    const inactiveFile = m[1] ?? 0;
    const rss = m[2] ?? 0;
    const memswLimit = m[3];
    const limit = hierarchical === undefined ? walkedLimit() : hierarchical < UNLIMITED ? hierarchical : undefined;
    if (onlyLimited && limit === undefined) return undefined;
    // memory.usage_in_bytes is the cgroup's page counter: what the limit is enforced on, kernel
    // memory (slab, stacks, sockets) included. memory.stat has no such figure: its total_rss +
    // total_cache leave the kernel memory out (1-10 % less, measured), so the usage, the working
    // set cAdvisor and the kubelet compute from it, and the limit it is held against come from here.
    const used = numberIn(usage.require())!;
    const hits = numberIn(failcnt.read());
    const swapLimited = memswLimit === undefined || memswLimit < UNLIMITED;
    if (!memswRead || swapLimited) {
      memswHits = numberIn(memswFailcnt.read());
      memswRead = true;
    }
    // oom_kill in memory.oom_control since Linux 4.13.
    const oomKills = field(oomControl.read(), OOM_KILL);
    return {
      limit,
      usage: used,
      workingSet: Math.max(0, used - inactiveFile),
      rss,
      limitHits: hits === undefined ? undefined : hits + (memswHits ?? 0),
      oomKills,
    };
  };
}
