import { describe, expect, it } from 'vitest';
import { findMount, parseMountinfo } from '../src/mounts.js';

// Shapes seen in real /proc/self/mountinfo: optional fields, none, several; an escaped space; a
// mount hidden by a later one on the same mount point.
const MOUNTINFO = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '30 27 0:27 / /dev/shm rw,nosuid,nodev - tmpfs tmpfs rw,size=65536k',
  '40 27 8:17 / /mnt/my\\040disk ro,noatime shared:5 master:2 - xfs /dev/sdb1 ro,attr2',
  '41 27 8:33 / /data rw - ext4 /dev/sdc1 rw',
  '42 27 8:49 / /data rw - xfs /dev/sdd1 rw',
  '',
].join('\n');

describe('parseMountinfo', () => {
  it('reads mount point, device, type and mode whatever the number of optional fields', () => {
    const mounts = parseMountinfo(MOUNTINFO);
    expect(mounts).toHaveLength(6);
    expect(mounts[1]).toEqual({ mountPoint: '/', device: '/dev/vda', type: 'ext4', mode: 'rw' });
    expect(mounts[3]).toEqual({ mountPoint: '/mnt/my disk', device: '/dev/sdb1', type: 'xfs', mode: 'ro' });
  });
});

describe('findMount', () => {
  const mounts = parseMountinfo(MOUNTINFO);
  it('picks the longest mount point that holds the path', () => {
    expect(findMount(mounts, '/')?.mountPoint).toBe('/');
    expect(findMount(mounts, '/home/app')?.mountPoint).toBe('/');
    expect(findMount(mounts, '/dev/shm/x')?.mountPoint).toBe('/dev/shm');
    expect(findMount(mounts, '/mnt/my disk/file')?.device).toBe('/dev/sdb1');
  });
  it('does not take /data for /database', () => {
    expect(findMount(mounts, '/database')?.mountPoint).toBe('/');
  });
  it('takes the later of two mounts on one mount point, the one that hides the other', () => {
    expect(findMount(mounts, '/data/x')?.device).toBe('/dev/sdd1');
  });
});
