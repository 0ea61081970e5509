import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceLabels, parseDiskstats } from '../src/disk-io.js';
import { points, start, value, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const DISKSTATS = [
  '   7       0 loop0 12 0 24 0 0 0 0 0 0 4 0 0 0 0 0 0 0',
  ' 254       0 vda 72839 24574 2036538 12692 9477 23989 1730728 5070 0 5316 17954 3590 53 77824 162 940 28',
  ' 254       1 vda1 70000 0 2000000 0 9000 0 1700000 0 0 0 0 0 0 0 0 0 0',
  ' 259       0 nvme0n1 10 0 80 0 5 0 40 0 0 0 0',
  ' 259       1 nvme0n1p1 10 0 80 0 5 0 40 0 0 0 0',
  ' 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
  ' 253       1 dm-0 3 0 24 0 0 0 0 0 0 0 0',
  '  11       0 sr0 0 0 0 0 0 0 0 0 0 0 0',
  '',
].join('\n');

describe('parseDiskstats', () => {
  it('keeps whole disks with I/O and counts 512-byte sectors', () => {
    expect(parseDiskstats(DISKSTATS)).toEqual([
      { device: 'vda', reads: 72839, readBytes: 2036538 * 512, writes: 9477, writeBytes: 1730728 * 512 },
      { device: 'nvme0n1', reads: 10, readBytes: 80 * 512, writes: 5, writeBytes: 40 * 512 },
      { device: 'dm-0', reads: 3, readBytes: 24 * 512, writes: 0, writeBytes: 0 },
    ]);
  });
});

describe('deviceLabels', () => {
  it('keeps one attribute set per device while it stays, and forgets devices that went (dm/rbd churn)', () => {
    const labels = deviceLabels();
    labels.startCollection();
    const vda = labels.get('vda');
    labels.endCollection();
    // A thousand collections, each with the disk and a device-mapper device that never comes back.
    for (let i = 0; i < 1000; i++) {
      labels.startCollection();
      expect(labels.get('vda')).toBe(vda);
      expect(labels.get(`dm-${i}`).read).toEqual({ 'system.device': `dm-${i}`, 'disk.io.direction': 'read' });
      labels.endCollection();
      expect(labels.size).toBe(2);
    }
  });
});

describe('system.disk.*', () => {
  it.skipIf(process.platform !== 'linux')('agrees with /proc/diskstats read around the collection', async () => {
    h = start({ groups: ['disk'] });
    const before = parseDiskstats(fs.readFileSync('/proc/diskstats', 'latin1'));
    const c = await h.collect();
    const after = parseDiskstats(fs.readFileSync('/proc/diskstats', 'latin1'));
    expect(before.length).toBeGreaterThan(0);
    expect(points(c, 'system.disk.io')).toHaveLength(2 * before.length);
    for (const b of before) {
      const a = after.find((x) => x.device === b.device)!;
      const read = { 'system.device': b.device, 'disk.io.direction': 'read' };
      const write = { 'system.device': b.device, 'disk.io.direction': 'write' };
      expect(value(c, 'system.disk.io', read)).toBeGreaterThanOrEqual(b.readBytes);
      expect(value(c, 'system.disk.io', read)).toBeLessThanOrEqual(a.readBytes);
      expect(value(c, 'system.disk.io', write)).toBeGreaterThanOrEqual(b.writeBytes);
      expect(value(c, 'system.disk.io', write)).toBeLessThanOrEqual(a.writeBytes);
      expect(value(c, 'system.disk.operations', read)).toBeGreaterThanOrEqual(b.reads);
      expect(value(c, 'system.disk.operations', write)).toBeLessThanOrEqual(a.writes);
    }
  });

  it.skipIf(process.platform === 'linux')('is absent, silently, where there is no /proc/diskstats', async () => {
    h = start({ groups: ['disk'], onError: () => expect.unreachable() });
    const c = await h.collect();
    expect(c.metrics.has('system.disk.io')).toBe(false);
  });
});
