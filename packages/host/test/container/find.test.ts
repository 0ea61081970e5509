import { afterEach, describe, expect, it } from 'vitest';
import { findCgroups, parseMountinfo, parseProcCgroup } from '../../src/container/find.js';
import { tree, v2Tree, type Tree } from './tree.js';

let t: Tree | undefined;
afterEach(() => {
  t?.remove();
  t = undefined;
});

describe('findCgroups', () => {
  it('cgroup v2: the process cgroup and each parent up to the mount point', () => {
    t = v2Tree();
    const m = `${t.root}/sys/fs/cgroup`;
    expect(findCgroups(t.root)).toEqual({ version: 2, levels: [`${m}/kubepods.slice/pod1/c1`, `${m}/kubepods.slice/pod1`, `${m}/kubepods.slice`, m] });
  });

  it('cgroup v2 in a cgroup namespace: the mount root is the container, one level', () => {
    t = tree({
      'proc/self/cgroup': '0::/\n',
      'proc/self/mountinfo': '600 500 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n',
    });
    expect(findCgroups(t.root)).toEqual({ version: 2, levels: [`${t.root}/sys/fs/cgroup`] });
  });

  it('cgroup v1 (docker without a namespace): the mount shows the container cgroup at the mount point', () => {
    t = tree({
      'proc/self/cgroup': '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n',
      'proc/self/mountinfo':
        '700 600 0:40 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n' +
        '701 600 0:41 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n',
    });
    const r = t.root;
    expect(findCgroups(r)).toEqual({
      version: 1,
      memory: [`${r}/sys/fs/cgroup/memory`],
      cpu: [`${r}/sys/fs/cgroup/cpu,cpuacct`],
      cpuacct: [`${r}/sys/fs/cgroup/cpu,cpuacct`],
    });
  });

  it("cgroup v1 without a namespace: every level up to the hierarchy's real root, which takes no limit and is left out", () => {
    t = tree({
      'proc/self/cgroup': '4:memory:/a/b\n',
      'proc/self/mountinfo': '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n',
      'sys/fs/cgroup/memory/cgroup.sane_behavior': '0\n',
    });
    const m = `${t.root}/sys/fs/cgroup/memory`;
    expect(findCgroups(t.root)).toEqual({ version: 1, memory: [`${m}/a/b`, `${m}/a`], cpu: undefined, cpuacct: undefined });
  });

  it('a cgroup outside the namespace root, or an unmounted hierarchy: none', () => {
    t = tree({ 'proc/self/cgroup': '0::/../../other\n', 'proc/self/mountinfo': '600 500 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup rw\n' });
    expect(findCgroups(t.root)).toBeUndefined();
    t.write('proc/self/cgroup', '0::/a\n');
    t.write('proc/self/mountinfo', '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n');
    expect(findCgroups(t.root)).toBeUndefined();
  });

  it('no /proc (not Linux, a sandbox): none', () => {
    t = tree();
    expect(findCgroups(t.root)).toBeUndefined();
  });

  it('parses escaped mount points and multi-controller lines', () => {
    expect(parseMountinfo('1 2 0:1 / /a\\040b rw - cgroup cgroup rw,cpu,cpuacct\n')).toEqual([
      { root: '/', mountPoint: '/a b', fsType: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'] },
    ]);
    expect([...parseProcCgroup('4:cpu,cpuacct:/x\n0::/y\n')]).toEqual([
      ['cpu', '/x'],
      ['cpuacct', '/x'],
      ['', '/y'],
    ]);
  });
});
