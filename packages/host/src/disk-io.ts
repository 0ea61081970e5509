// Disk I/O bytes and operations per block device, from /proc/diskstats. Linux only: elsewhere the
// instruments are not even created, so no empty metric shows up.
import type { Attributes, BatchObservableCallback, Meter } from '@opentelemetry/api';
import { openProcFile, type ProcFile } from './proc-file.js';
import type { Report } from './report.js';

export const DISK_IO_METRICS = ['system.disk.io', 'system.disk.operations'] as const;

// Whole disks only, as node_exporter does by default: partitions would count every byte twice,
// and loop, ram and zram devices are memory or files, not disks.
const IGNORED = /^(?:z?ram|loop|fd|(?:h|s|v|xv)d[a-z]+|nvme\d+n\d+p|mmcblk\d+p)\d+$/;
// /proc/diskstats counts 512-byte sectors whatever the device's real sector size.
const SECTOR_BYTES = 512;
const FIX = "Mount /proc, or leave 'disk' out of MON_METRICS (or the groups option).";

export interface DiskStats {
  device: string;
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
}

/** Devices with any I/O, from /proc/diskstats text (Documentation/admin-guide/iostats.rst). */
export function parseDiskstats(text: string): DiskStats[] {
  const disks: DiskStats[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const device = f[2];
    if (f.length < 10 || device === undefined || IGNORED.test(device)) continue;
    const reads = Number(f[3]);
    const writes = Number(f[7]);
    // Never-used devices (an empty CD drive, a spare disk) would only add series of zeros.
    if (reads === 0 && writes === 0) continue;
    disks.push({ device, reads, readBytes: Number(f[5]) * SECTOR_BYTES, writes, writeBytes: Number(f[9]) * SECTOR_BYTES });
  }
  return disks;
}

export function startDiskIoMetrics(meter: Meter, report: Report): () => void {
  if (process.platform !== 'linux') return () => {};
  const io = meter.createObservableCounter('system.disk.io', {
    unit: 'By',
    description: 'Bytes read from and written to each disk.',
  });
  const operations = meter.createObservableCounter('system.disk.operations', {
    unit: '{operation}',
    description: 'Read and write operations completed by each disk.',
  });

  const labels = deviceLabels();
  let file: ProcFile | undefined;
  const callback: BatchObservableCallback = (result) => {
    let disks: DiskStats[];
    try {
      file ??= openProcFile('/proc/diskstats');
      disks = parseDiskstats(file.read());
    } catch (error) {
      report('disk io', error, FIX);
      return;
    }
    labels.startCollection();
    for (const d of disks) {
      const l = labels.get(d.device);
      result.observe(io, d.readBytes, l.read);
      result.observe(io, d.writeBytes, l.write);
      result.observe(operations, d.reads, l.read);
      result.observe(operations, d.writes, l.write);
    }
    labels.endCollection();
  };

  meter.addBatchObservableCallback(callback, [io, operations]);
  return () => {
    meter.removeBatchObservableCallback(callback, [io, operations]);
    file?.close();
  };
}

export interface DeviceLabels {
  /** The read and write attribute sets of `device`, the same objects while it stays. */
  get(device: string): { read: Attributes; write: Attributes };
  startCollection(): void;
  /** Forgets the devices the collection did not see. */
  endCollection(): void;
  readonly size: number;
}

/**
 * Attribute objects built once per device, not per collection, and kept only while the device is
 * there: device-mapper and rbd devices come and go (dm-0, dm-1, ... on every container or volume
 * attach), and a map of every name ever seen would only grow.
 */
export function deviceLabels(): DeviceLabels {
  let kept = new Map<string, { read: Attributes; write: Attributes }>();
  let seen = new Map<string, { read: Attributes; write: Attributes }>();
  return {
    get(device) {
      let l = seen.get(device) ?? kept.get(device);
      if (!l) {
        l = {
          read: Object.freeze({ 'system.device': device, 'disk.io.direction': 'read' }),
          write: Object.freeze({ 'system.device': device, 'disk.io.direction': 'write' }),
        };
      }
      seen.set(device, l);
      return l;
    },
    startCollection() {
      seen = new Map();
    },
    endCollection() {
      kept = seen;
    },
    get size() {
      return kept.size;
    },
  };
}
