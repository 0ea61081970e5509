// Real cgroups for the container tests: creates a child cgroup (v1: one per controller hierarchy;
// v2: one in the unified tree), sets its limits, reads its own files, and removes it again.
import fs from 'node:fs';
import path from 'node:path';

/** Whether this machine lets the tests create cgroups, and if not, why. */
export type Support = { version: 1 | 2; reason?: undefined } | { version?: undefined; reason: string };

interface Mount {
  mountPoint: string;
  fsType: string;
  options: string[];
}

function cgroupMounts(): Mount[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => {
      const [before, after] = line.split(' - ');
      if (!before || !after) return undefined;
      const [fsType, , superOptions] = after.split(' ');
      return { mountPoint: before.split(' ')[4]!, fsType: fsType!, options: (superOptions ?? '').split(',') };
    })
    .filter((m): m is Mount => !!m && (m.fsType === 'cgroup' || m.fsType === 'cgroup2'));
}

const v1Mount = (controller: string) => cgroupMounts().find((m) => m.fsType === 'cgroup' && m.options.includes(controller))?.mountPoint;
const v2Mount = () => cgroupMounts().find((m) => m.fsType === 'cgroup2')?.mountPoint;

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function cgroupSupport(): Support {
  if (process.platform !== 'linux') return { reason: `cgroups are Linux's (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { reason: 'creating a cgroup takes root' };
  const memory = v1Mount('memory');
  const cpu = v1Mount('cpu');
  if (memory && cpu) return writable(memory) && writable(cpu) ? { version: 1 } : { reason: `the cgroup v1 hierarchies (${memory}, ${cpu}) are read-only` };
  const unified = v2Mount();
  if (!unified) return { reason: 'no cgroup v1 memory and cpu hierarchies and no cgroup v2 mounted' };
  const controllers = fs.readFileSync(path.join(unified, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
  if (!controllers.includes('memory') || !controllers.includes('cpu')) {
    return { reason: `cgroup v2 at ${unified} does not hand memory and cpu to its children (cgroup.subtree_control: ${controllers.join(' ')})` };
  }
  return writable(unified) ? { version: 2 } : { reason: `cgroup v2 at ${unified} is read-only` };
}

export interface Limits {
  memoryBytes?: number;
  /** CPUs as quota / period. */
  cpu?: { quota: number; period: number };
}

export interface TestCgroup {
  version: 1 | 2;
  /** The cgroup.procs files a process writes its pid to, to move in. */
  procs: string[];
  /** usage - inactive file pages, as the cgroup's own files give it now. */
  workingSet(): number;
  memoryLimit(): number;
  oomKills(): number;
  throttledSeconds(): number;
  limitHits(): number;
  /** Changes the CPU quota in place, as a pod resized in place has it changed. */
  setCpu(cpu: { quota: number; period: number }): void;
  /** Ends every process left inside, then removes the directories. */
  remove(): Promise<void>;
}

const swapOn = () => fs.readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
const field = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1]);

export function createCgroup(name: string, limits: Limits): TestCgroup {
  const support = cgroupSupport();
  if (!support.version) throw new Error(support.reason);
  const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
  const write = (dir: string, file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
  let dirs: string[];
  let cgroup: Omit<TestCgroup, 'procs' | 'remove'>;
  if (support.version === 1) {
    const memory = path.join(v1Mount('memory')!, name);
    const cpu = path.join(v1Mount('cpu')!, name);
    const acctMount = v1Mount('cpuacct');
    const acct = acctMount ? path.join(acctMount, name) : undefined;
    dirs = [...new Set([memory, cpu, ...(acct ? [acct] : [])])];
    for (const dir of dirs) fs.mkdirSync(dir);
    if (limits.memoryBytes !== undefined) {
      write(memory, 'memory.limit_in_bytes', String(limits.memoryBytes));
      // With swap on, the limit must cover memory and swap together, or the process would swap
      // rather than be killed. Only then: with no swap, a memsw limit left memory.failcnt and
      // memory.memsw.failcnt both at 0 through an OOM kill (Linux 6.18).
      if (swapOn() && fs.existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) write(memory, 'memory.memsw.limit_in_bytes', String(limits.memoryBytes));
    }
    const setCpu = (c: { quota: number; period: number }) => {
      write(cpu, 'cpu.cfs_period_us', String(c.period));
      write(cpu, 'cpu.cfs_quota_us', String(c.quota));
    };
    if (limits.cpu) setCpu(limits.cpu);
    cgroup = {
      version: 1,
      workingSet: () => Number(read(memory, 'memory.usage_in_bytes')) - field(read(memory, 'memory.stat'), 'total_inactive_file'),
      memoryLimit: () => Number(read(memory, 'memory.limit_in_bytes')),
      oomKills: () => field(read(memory, 'memory.oom_control'), 'oom_kill'),
      throttledSeconds: () => field(read(cpu, 'cpu.stat'), 'throttled_time') / 1e9,
      limitHits: () =>
        Number(read(memory, 'memory.failcnt')) + (fs.existsSync(path.join(memory, 'memory.memsw.failcnt')) ? Number(read(memory, 'memory.memsw.failcnt')) : 0),
      setCpu,
    };
  } else {
    const dir = path.join(v2Mount()!, name);
    dirs = [dir];
    fs.mkdirSync(dir);
    if (limits.memoryBytes !== undefined) {
      write(dir, 'memory.max', String(limits.memoryBytes));
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) write(dir, 'memory.swap.max', '0');
    }
    const setCpu = (c: { quota: number; period: number }) => write(dir, 'cpu.max', `${c.quota} ${c.period}`);
    if (limits.cpu) setCpu(limits.cpu);
    cgroup = {
      version: 2,
      workingSet: () => Number(read(dir, 'memory.current')) - field(read(dir, 'memory.stat'), 'inactive_file'),
      memoryLimit: () => Number(read(dir, 'memory.max')),
      oomKills: () => field(read(dir, 'memory.events'), 'oom_kill'),
      throttledSeconds: () => field(read(dir, 'cpu.stat'), 'throttled_usec') / 1e6,
      limitHits: () => field(read(dir, 'memory.events'), 'max'),
      setCpu,
    };
  }
  return {
    ...cgroup,
    procs: dirs.map((dir) => path.join(dir, 'cgroup.procs')),
    async remove() {
      for (const dir of dirs) {
        if (!fs.existsSync(dir)) continue;
        // A cgroup with processes in it cannot be removed: end them (they are the test's own) and wait.
        for (let tries = 0; ; tries++) {
          const pids = read(dir, 'cgroup.procs').split('\n').filter(Boolean).map(Number);
          for (const pid of pids) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          try {
            fs.rmdirSync(dir);
            break;
          } catch (error) {
            if (tries > 100) throw error;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }
    },
  };
}
