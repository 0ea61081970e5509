import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RESOLVE_RETRY_MS } from '../src/filesystem.js';
import { points, start, value, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

const linux = process.platform === 'linux';

/** df's view of the filesystem holding `p`, in bytes. */
function df(p: string) {
  const out = execFileSync('df', ['-B1', '--output=source,fstype,used,avail,size,target', p], { encoding: 'utf8' });
  const [source, type, used, avail, size, target] = out.trim().split('\n')[1]!.trim().split(/\s+/);
  return { source, type, used: Number(used), avail: Number(avail), size: Number(size), target };
}

describe('system.filesystem.*', () => {
  it.skipIf(!linux)('agrees with df -B1 within 1%, labelled with device, mount point and type', async () => {
    h = start({ groups: ['disk'] });
    const c = await h.collect();
    for (const p of ['/', process.cwd()]) {
      const d = df(p);
      const labels = { 'system.filesystem.mountpoint': d.target };
      const used = value(c, 'system.filesystem.usage', { ...labels, 'system.filesystem.state': 'used' });
      const free = value(c, 'system.filesystem.usage', { ...labels, 'system.filesystem.state': 'free' });
      const reserved = value(c, 'system.filesystem.usage', { ...labels, 'system.filesystem.state': 'reserved' });
      expect(Math.abs(used - d.used)).toBeLessThanOrEqual(d.used * 0.01);
      expect(Math.abs(free - d.avail)).toBeLessThanOrEqual(d.avail * 0.01);
      expect(Math.abs(used + free + reserved - d.size)).toBeLessThanOrEqual(d.size * 0.01);
      expect(value(c, 'system.filesystem.utilization', labels)).toBeCloseTo(used / (used + free), 6);
      const point = points(c, 'system.filesystem.usage').find((x) => x.attributes['system.filesystem.mountpoint'] === d.target)!;
      expect(point.attributes['system.device']).toBe(d.source);
      expect(point.attributes['system.filesystem.type']).toBe(d.type);
      expect(['rw', 'ro']).toContain(point.attributes['system.filesystem.mode']);
    }
  });

  it.skipIf(!linux)('reports each filesystem once however many watched paths it holds', async () => {
    const paths = ['/', process.cwd(), os.tmpdir(), path.join(process.cwd(), '..')];
    h = start({ groups: ['disk'], diskPaths: paths });
    const c = await h.collect();
    const mounts = new Set(paths.map((p) => df(p).target));
    expect(points(c, 'system.filesystem.usage')).toHaveLength(3 * mounts.size);
    expect(points(c, 'system.filesystem.utilization')).toHaveLength(mounts.size);
  });

  it('drops only a missing path and reports it once', async () => {
    const onError = vi.fn();
    h = start({ groups: ['disk', 'memory'], diskPaths: ['/definitely/not/here', '/'], onError });
    for (let i = 0; i < 3; i++) {
      const c = await h.collect();
      expect(c.errors).toEqual([]);
      expect(points(c, 'system.filesystem.usage')).toHaveLength(3);
      expect(points(c, 'system.memory.usage')).toHaveLength(2);
    }
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith('filesystem /definitely/not/here', expect.objectContaining({ code: 'ENOENT' }));
  });

  it('reports a path that vanishes after start once, with no unhandled rejection', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mon-host-'));
    const onError = vi.fn();
    h = start({ groups: ['disk', 'memory'], diskPaths: [dir], onError });
    expect(points(await h.collect(), 'system.filesystem.usage')).toHaveLength(3);
    fs.rmdirSync(dir);
    for (let i = 0; i < 2; i++) {
      const c = await h.collect();
      expect(c.errors).toEqual([]);
      expect(points(c, 'system.memory.usage')).toHaveLength(2);
    }
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(`filesystem ${dir}`, expect.objectContaining({ code: 'ENOENT' }));
  });

  it('picks up a watched path created after start, trying again once a minute, not at every scrape', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const realpath = vi.spyOn(fs.promises, 'realpath');
    const dir = path.join(os.tmpdir(), `mon-host-late-${process.pid}`);
    const onError = vi.fn();
    try {
      h = start({ groups: ['disk'], diskPaths: [dir], onError });
      expect(points(await h.collect(), 'system.filesystem.usage')).toHaveLength(0);
      fs.mkdirSync(dir);
      for (let i = 0; i < 5; i++) expect(points(await h.collect(), 'system.filesystem.usage')).toHaveLength(0);
      expect(realpath).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(RESOLVE_RETRY_MS);
      expect(points(await h.collect(), 'system.filesystem.usage')).toHaveLength(3);
      expect(realpath).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('resolves watched paths off the event loop, and a path that never resolves (a dead mount) blocks no scrape', async () => {
    const realpathSync = vi.spyOn(fs, 'realpathSync');
    const statSync = vi.spyOn(fs, 'statSync');
    const realpath = fs.promises.realpath;
    const hung = vi.spyOn(fs.promises, 'realpath').mockImplementation((p, ...rest) => (p === '/mnt/dead' ? new Promise(() => {}) : realpath(p, ...rest)));
    const onError = vi.fn();
    h = start({ groups: ['disk'], diskPaths: ['/mnt/dead', '/'], onError });
    const first = await h.collect();
    expect(first.errors).toEqual([]);
    expect(points(first, 'system.filesystem.usage')).toHaveLength(3); // `/` still reported
    expect(onError).toHaveBeenCalledWith('filesystem /mnt/dead', expect.objectContaining({ message: expect.stringMatching(/did not finish/) }));
    // Still stuck: not tried again, and the next scrapes do not wait for it.
    for (let i = 0; i < 3; i++) expect(points(await h.collect(), 'system.filesystem.usage')).toHaveLength(3);
    expect(hung.mock.calls.filter(([p]) => p === '/mnt/dead')).toHaveLength(1);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(realpathSync).not.toHaveBeenCalled();
    expect(statSync).not.toHaveBeenCalled();
  });

  it.skipIf(!linux)('goes through the thread pool for filesystems not known to be local', async () => {
    const statfs = vi.spyOn(fs, 'statfs');
    const statfsSync = vi.spyOn(fs, 'statfsSync');
    h = start({ groups: ['disk'], diskPaths: ['/', '/proc'] });
    const c = await h.collect();
    expect(points(c, 'system.filesystem.usage').filter((p) => p.attributes['system.filesystem.type'] === 'proc')).toHaveLength(3);
    expect(statfs.mock.calls.map((call) => call[0])).toEqual(['/proc']);
    expect(statfsSync.mock.calls.map((call) => call[0])).toEqual(['/']);
  });

  it.skipIf(!linux)('gives up on a statfs that never returns, once, without hanging later scrapes', async () => {
    vi.spyOn(fs, 'statfs').mockImplementation(() => {}); // a dead network mount
    const onError = vi.fn();
    h = start({ groups: ['disk'], diskPaths: ['/proc', '/'], onError });
    const t = performance.now();
    const first = await h.collect();
    expect(performance.now() - t).toBeLessThan(3000);
    expect(first.errors).toEqual([]);
    expect(points(first, 'system.filesystem.usage')).toHaveLength(3); // `/` still reported
    const statfs = vi.mocked(fs.statfs);
    const asked = statfs.mock.calls.length;
    await h.collect();
    expect(statfs.mock.calls.length).toBe(asked); // not asked again while the first is stuck
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith('filesystem /proc', expect.objectContaining({ message: expect.stringMatching(/did not return/) }));
  });
});
