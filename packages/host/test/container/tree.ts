// A directory tree standing in for / (proc/self/cgroup, proc/self/mountinfo, sys/fs/cgroup/...):
// the `root` option of startHostMetrics reads it as it would the real files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tree {
  root: string;
  /** Writes `text` at `relative` (under root), creating directories. */
  write(relative: string, text: string): void;
  remove(): void;
}

export function tree(files: Record<string, string> = {}): Tree {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mon-cgroup-'));
  const write = (relative: string, text: string) => {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  for (const [relative, text] of Object.entries(files)) write(relative, text);
  return { root, write, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

const V2_MOUNT = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

/** A cgroup v2 host as seen from a Kubernetes container without a cgroup namespace: the pod and container cgroups under kubepods. */
export function v2Tree(options: { memoryMax?: string; podMemoryMax?: string; cpuMax?: string; podCpuMax?: string } = {}): Tree {
  const pod = 'sys/fs/cgroup/kubepods.slice/pod1';
  const leaf = `${pod}/c1`;
  return tree({
    'proc/self/cgroup': '0::/kubepods.slice/pod1/c1\n',
    'proc/self/mountinfo': `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n${V2_MOUNT}`,
    [`${pod}/memory.max`]: `${options.podMemoryMax ?? 'max'}\n`,
    [`${pod}/cpu.max`]: `${options.podCpuMax ?? 'max 100000'}\n`,
    [`${pod}/cpu.stat`]: 'usage_usec 9000000\nuser_usec 6000000\nsystem_usec 3000000\nnr_periods 400\nnr_throttled 300\nthrottled_usec 7500000\n',
    [`${leaf}/memory.max`]: `${options.memoryMax ?? '268435456'}\n`,
    [`${leaf}/memory.current`]: '150000000\n',
    [`${leaf}/memory.stat`]: 'anon 100000000\nfile 45000000\nkernel 5000000\nactive_file 25000000\ninactive_file 20000000\nslab 1000\n',
    [`${leaf}/memory.events`]: 'low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n',
    [`${leaf}/cpu.max`]: `${options.cpuMax ?? '50000 100000'}\n`,
    [`${leaf}/cpu.stat`]:
      'usage_usec 4500000\nuser_usec 4000000\nsystem_usec 500000\nnr_periods 120\nnr_throttled 48\nthrottled_usec 1860000\nnr_bursts 0\nburst_usec 0\n',
  });
}

/** A cgroup v1 host (memory; cpu,cpuacct co-mounted) with the process in `app` under 256 MiB and half a CPU. */
export function v1Tree(): Tree {
  const m = 'sys/fs/cgroup/memory/app';
  const cpu = 'sys/fs/cgroup/cpu,cpuacct/app';
  return tree({
    'proc/self/cgroup': '9:memory:/app\n3:cpu,cpuacct:/app\n0::/\n',
    'proc/self/mountinfo':
      '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n',
    'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
    [`${m}/memory.limit_in_bytes`]: `${256 * 1024 * 1024}\n`,
    [`${m}/memory.usage_in_bytes`]: '150000000\n',
    [`${m}/memory.stat`]: 'cache 1\nrss 2\ninactive_file 3\ntotal_cache 50000000\ntotal_rss 100000000\ntotal_inactive_file 20000000\n',
    [`${m}/memory.failcnt`]: '3\n',
    [`${m}/memory.memsw.failcnt`]: '1\n',
    [`${m}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    [`${cpu}/cpu.cfs_quota_us`]: '50000\n',
    [`${cpu}/cpu.cfs_period_us`]: '100000\n',
    [`${cpu}/cpu.stat`]: 'nr_periods 52\nnr_throttled 48\nthrottled_time 1860000000\n',
    [`${cpu}/cpuacct.stat`]: 'user 150\nsystem 25\n',
  });
}
