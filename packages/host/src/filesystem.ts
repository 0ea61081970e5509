// Space on the filesystems holding the watched paths (default: `/` and the working directory),
// one set of series per filesystem however many paths it holds.
import fs from 'node:fs';
import type { Attributes, BatchObservableCallback, BatchObservableResult, Meter } from '@opentelemetry/api';
import { findMount, parseMountinfo, type Mount } from './mounts.js';
import type { Report } from './report.js';

export const FILESYSTEM_METRICS = ['system.filesystem.usage', 'system.filesystem.utilization'] as const;

// statfsSync on a local filesystem answers from the in-memory superblock: 9 µs, against 79 µs
// median and ~1 ms p90 for fs.statfs, whose thread pool round trip is what a scrape waits for.
// A network (or FUSE) mount can block forever, so anything not known to be local goes through
// the thread pool, where a stuck call costs a pool thread rather than the app's event loop.
const LOCAL_TYPES = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'bcachefs', 'jfs', 'reiserfs', 'nilfs2',
  'overlay', 'tmpfs', 'ramfs', 'devtmpfs', 'squashfs', 'erofs', 'iso9660', 'udf',
  'vfat', 'msdos', 'exfat', 'ntfs3',
]);
// A collection awaiting a stuck statfs would hang the scrape: give up after this long, and do not
// queue another statfs on that filesystem until the stuck one returns. Resolving a watched path
// gets the same bound.
const STATFS_TIMEOUT_MS = 1000;
// A watched path that does not resolve (not there yet, a volume not mounted yet, a dead network
// mount) is tried again at most this often, not at every scrape.
export const RESOLVE_RETRY_MS = 60_000;
const FIX = 'Check the path in MON_DISK_PATHS (or the diskPaths option); the other filesystems are still reported.';

interface Filesystem {
  /** The first configured path on this filesystem: statfs is called on it. */
  path: string;
  source: string;
  /** Known local: statfsSync cannot hang on it. */
  local: boolean;
  /** A statfs from an earlier collection has not returned yet. */
  busy: boolean;
  used: Attributes;
  free: Attributes;
  reserved: Attributes;
  all: Attributes;
}

export function startFilesystemMetrics(meter: Meter, report: Report, paths: readonly string[]): () => void {
  const usage = meter.createObservableUpDownCounter('system.filesystem.usage', {
    unit: 'By',
    description: 'Filesystem space by state: used, free (available to unprivileged users) and reserved, in bytes.',
  });
  const utilization = meter.createObservableGauge('system.filesystem.utilization', {
    unit: '1',
    description: 'Share of the filesystem space usable by unprivileged users that is used (df Use%).',
  });

  // Paths not yet matched to a filesystem, with when each may be tried next. Resolving one walks
  // the path (realpath, and stat without a mount table), which on a dead network mount blocks: it
  // runs in the thread pool, where a stuck call costs a pool thread, never the app's event loop.
  // A failure is reported once; the path is tried again after RESOLVE_RETRY_MS (a volume may be
  // mounted later), and not while an earlier try is still stuck.
  const unresolved = new Map<string, { due: number; trying: boolean }>(paths.map((p) => [p, { due: -Infinity, trying: false }]));
  const filesystems = new Map<string, Filesystem>();
  let mounts: Mount[] | undefined;

  const resolve = async (path: string): Promise<void> => {
    const real = await fs.promises.realpath(path);
    let key: string;
    let labels: Attributes;
    let local = false;
    if (process.platform === 'linux') {
      mounts ??= readMounts(report);
    }
    const mount = mounts && findMount(mounts, real);
    if (mount) {
      key = mount.mountPoint;
      local = LOCAL_TYPES.has(mount.type);
      labels = {
        'system.device': mount.device,
        'system.filesystem.mountpoint': mount.mountPoint,
        'system.filesystem.type': mount.type,
        'system.filesystem.mode': mount.mode,
      };
    } else {
      // No mount table (macOS, Windows): the device number tells filesystems apart, and the first
      // path on each stands for its mount point.
      key = `dev ${(await fs.promises.stat(real)).dev}`;
      labels = { 'system.filesystem.mountpoint': path };
    }
    unresolved.delete(path);
    if (filesystems.has(key)) return;
    filesystems.set(key, {
      path,
      source: `filesystem ${path}`,
      local,
      busy: false,
      used: Object.freeze({ ...labels, 'system.filesystem.state': 'used' }),
      free: Object.freeze({ ...labels, 'system.filesystem.state': 'free' }),
      reserved: Object.freeze({ ...labels, 'system.filesystem.state': 'reserved' }),
      all: Object.freeze(labels),
    });
  };

  /** Starts the tries that are due; resolves when they are done or STATFS_TIMEOUT_MS passed. */
  const resolveDue = (): Promise<void> | undefined => {
    const now = performance.now();
    const tries: Array<Promise<void>> = [];
    for (const [path, state] of unresolved) {
      if (state.trying || now < state.due) continue;
      // A path still unresolved may sit on a volume mounted since the table was read: read it anew.
      if (tries.length === 0) mounts = undefined;
      state.trying = true;
      state.due = now + RESOLVE_RETRY_MS;
      const tried = resolve(path).catch((error: unknown) => report(`filesystem ${path}`, error, FIX));
      tries.push(
        within(tried, STATFS_TIMEOUT_MS, () => report(`filesystem ${path}`, new Error(`resolving the path did not finish within ${STATFS_TIMEOUT_MS} ms`), FIX)),
      );
      void tried.finally(() => {
        state.trying = false;
      });
    }
    return tries.length === 0 ? undefined : Promise.all(tries).then(() => {});
  };

  const observeAll = (result: BatchObservableResult): Promise<void> | void => {
    const ready = [...filesystems.values()].filter((f) => !f.busy);
    const stats = ready.map((f): fs.StatsFs | Promise<fs.StatsFs | undefined> | undefined => {
      if (f.local) {
        try {
          return fs.statfsSync(f.path);
        } catch (error) {
          report(f.source, error, FIX);
          return undefined;
        }
      }
      return statfs(f).catch((error: unknown) => {
        report(f.source, error, FIX);
        return undefined;
      });
    });
    const observe = (values: ReadonlyArray<fs.StatsFs | undefined>) => {
      for (let i = 0; i < ready.length; i++) {
        const s = values[i];
        const f = ready[i]!;
        if (!s) continue;
        // df's arithmetic: bfree counts blocks only root may use, bavail those anyone may use.
        const used = (s.blocks - s.bfree) * s.bsize;
        const free = s.bavail * s.bsize;
        const reserved = (s.bfree - s.bavail) * s.bsize;
        result.observe(usage, used, f.used);
        result.observe(usage, free, f.free);
        result.observe(usage, reserved, f.reserved);
        if (used + free > 0) result.observe(utilization, used / (used + free), f.all);
      }
    };
    // A promise only when a non-local filesystem is watched; the usual all-local case returns
    // synchronously. The promise never rejects: each failure is caught and reported above.
    if (stats.some((s) => s instanceof Promise)) return Promise.all(stats).then(observe);
    observe(stats as Array<fs.StatsFs | undefined>);
  };

  const callback: BatchObservableCallback = (result) => {
    const resolving = unresolved.size > 0 ? resolveDue() : undefined;
    // Only a collection that starts a try waits for it (the first one, and one a minute after a failure).
    if (resolving !== undefined) return resolving.then(() => observeAll(result));
    return observeAll(result);
  };

  meter.addBatchObservableCallback(callback, [usage, utilization]);
  return () => meter.removeBatchObservableCallback(callback, [usage, utilization]);
}

/** Resolves when `work` settles or after `ms`, whichever comes first (then calls `onTimeout`). */
function within(work: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
    // unref: this guard must never be what keeps the app alive.
    timer.unref();
    void work.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** fs.statfs with a deadline, marking the filesystem busy until the call returns. */
function statfs(f: Filesystem): Promise<fs.StatsFs> {
  f.busy = true;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`statfs did not return within ${STATFS_TIMEOUT_MS} ms`)), STATFS_TIMEOUT_MS);
    // unref: this guard must never be what keeps the app alive.
    timer.unref();
    fs.statfs(f.path, (error, stats) => {
      f.busy = false;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(stats);
    });
  });
}

function readMounts(report: Report): Mount[] {
  try {
    return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch (error) {
    report('filesystem mount table', error, 'Mount /proc to get device, type and mount point labels; usage is still reported.');
    return [];
  }
}
