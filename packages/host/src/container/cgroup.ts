// One reading of this process's cgroup, the same shape from cgroup v1 and v2 (cgroup-v1.ts, cgroup-v2.ts).
import { findCgroups } from './find.js';
import { cgroupV1 } from './cgroup-v1.js';
import { cgroupV2 } from './cgroup-v2.js';

export interface MemoryReading {
  /** Bytes: the smallest limit from this cgroup up; undefined where none is set. */
  limit: number | undefined;
  /** Bytes charged to this cgroup (v2 memory.current, v1 memory.usage_in_bytes). */
  usage: number;
  /** usage - inactive file pages, as cAdvisor and the kubelet compute it (what eviction acts on). */
  workingSet: number;
  /** Anonymous memory (v2 anon, v1 total_rss). */
  rss: number;
  /** Times usage hit the limit (v2 memory.events `max`, v1 memory.failcnt + memory.memsw.failcnt); undefined where the kernel has no count. */
  limitHits: number | undefined;
  /** Processes the OOM killer ended in this cgroup (v2 memory.events `oom_kill`, v1 memory.oom_control). */
  oomKills: number | undefined;
}

export interface CpuReading {
  /** quota / period in CPUs: the smallest from this cgroup up; undefined where no quota is set. */
  limit: number | undefined;
  /** Seconds of CPU used by the cgroup's processes; undefined where no accounting is mounted (v1 without cpuacct). */
  user: number | undefined;
  system: number | undefined;
  /** From the cgroup whose quota binds: enforcement periods, those throttled, and seconds throttled. */
  periods: number | undefined;
  throttledPeriods: number | undefined;
  throttledTime: number | undefined;
}

export interface Cgroup {
  readonly version: 1 | 2;
  /**
   * Undefined where the memory controller is not there for this process, and, with `onlyLimited`,
   * where no memory limit is set (then only what the limit takes is read).
   */
  memory(onlyLimited?: boolean): MemoryReading | undefined;
  /** Undefined where neither CPU controller is there, and, with `onlyLimited`, where no quota is set (then only the quota is read). */
  cpu(onlyLimited?: boolean): CpuReading | undefined;
  /** The CPU limit alone (cpu() without the statistics): for the process CPU utilization's denominator. */
  cpuLimit(): number | undefined;
  close(): void;
}

/** This process's cgroup, files under `root` ('/' but in tests); undefined where there is none to read. */
export function openCgroup(root = '/'): Cgroup | undefined {
  const dirs = findCgroups(root);
  if (!dirs) return undefined;
  return dirs.version === 2 ? cgroupV2(dirs.levels) : cgroupV1(dirs);
}
