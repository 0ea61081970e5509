// Where this process's cgroups are: /proc/self/cgroup names each hierarchy's path, and
// /proc/self/mountinfo says where that hierarchy is mounted and which part of it the mount shows
// (a container, or a cgroup namespace, sees its own cgroup as the mount's root).
import fs from 'node:fs';
import path from 'node:path';

/** The directories of one controller's cgroups, from the process's own up to the top this mount shows. */
export type Levels = readonly string[];

export type CgroupDirs =
  | { version: 2; levels: Levels }
  | { version: 1; memory: Levels | undefined; cpu: Levels | undefined; cpuacct: Levels | undefined };

interface Mount {
  /** The path inside the hierarchy the mount shows at its mount point. */
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)).
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    if (before.length < 5 || after.length < 3) continue;
    const fsType = after[0]!;
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    mounts.push({ root: unescape(before[3]!), mountPoint: unescape(before[4]!), fsType, superOptions: after[2]!.split(',') });
  }
  return mounts;
}

/** `hierarchy-id:controllers:path` lines: controller list ('' for cgroup v2) to path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const cgroupPath = line.slice(second + 1);
    if (controllers === '') paths.set('', cgroupPath);
    else for (const c of controllers.split(',')) paths.set(c, cgroupPath);
  }
  return paths;
}

/**
 * The cgroup's directory and each parent's up to the mount point, under `root`. Undefined when no
 * mount shows the cgroup: a path outside the cgroup namespace (`/../x`) or an unmounted hierarchy.
 */
function levelsOf(cgroupPath: string, mounts: Mount[], root: string): Levels | undefined {
  // The mount showing the deepest part of the hierarchy that holds the cgroup (bind mounts of subtrees).
  let best: Mount | undefined;
  for (const m of mounts) {
    const inside = m.root === '/' || cgroupPath === m.root || cgroupPath.startsWith(`${m.root}/`);
    if (inside && (!best || m.root.length > best.root.length)) best = m;
  }
  if (!best || cgroupPath.split('/').includes('..')) return undefined;
  const relative = best.root === '/' ? cgroupPath : cgroupPath.slice(best.root.length);
  const top = path.resolve(root, `.${best.mountPoint}`);
  const levels = [];
  for (let dir = path.resolve(top, `.${relative}`); ; dir = path.dirname(dir)) {
    levels.push(dir);
    if (!dir.startsWith(`${top}/`)) break; // top itself, the last level
  }
  return levels;
}

/**
 * A v1 hierarchy's real root takes no limit (its memory.limit_in_bytes and cpu.cfs_quota_us stay
 * unlimited), so reading it at every collection would cost two reads for nothing. Only the real root
 * has cgroup.sane_behavior; a cgroup namespace's root, which may hold limits, does not.
 */
function withoutV1Root(levels: Levels | undefined): Levels | undefined {
  if (!levels || levels.length < 2) return levels;
  const top = levels[levels.length - 1]!;
  return fs.existsSync(path.join(top, 'cgroup.sane_behavior')) ? levels.slice(0, -1) : levels;
}

/**
 * Reads /proc/self/cgroup and /proc/self/mountinfo under `root` ('/' but in tests). cgroup v1
 * wins where both are mounted (a hybrid host mounts an empty v2 beside its v1 controllers).
 * Undefined where neither file exists (not Linux, a sandbox) or no hierarchy is mounted.
 */
export function findCgroups(root = '/'): CgroupDirs | undefined {
  let cgroupText: string;
  let mountText: string;
  try {
    cgroupText = fs.readFileSync(path.join(root, 'proc/self/cgroup'), 'latin1');
    mountText = fs.readFileSync(path.join(root, 'proc/self/mountinfo'), 'latin1');
  } catch {
    return undefined;
  }
  const paths = parseProcCgroup(cgroupText);
  const mounts = parseMountinfo(mountText);
  const v1 = (controller: string): Levels | undefined => {
    const p = paths.get(controller);
    if (p === undefined) return undefined;
    return levelsOf(p, mounts.filter((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller)), root);
  };
  const memory = withoutV1Root(v1('memory'));
  const cpu = withoutV1Root(v1('cpu'));
  if (memory || cpu) return { version: 1, memory, cpu, cpuacct: v1('cpuacct') };
  const unified = paths.get('');
  if (unified === undefined) return undefined;
  const levels = levelsOf(unified, mounts.filter((m) => m.fsType === 'cgroup2'), root);
  return levels ? { version: 2, levels } : undefined;
}
