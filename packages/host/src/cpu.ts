// System CPU: time per mode summed over logical CPUs, and utilization per mode over the window
// (windows.ts: the last 60 s; before that, since start).
import os from 'node:os';
import type { BatchObservableCallback, Meter } from '@opentelemetry/api';
import { openProcFile, type ProcFile } from './proc-file.js';
import type { Report } from './report.js';
import type { Windows } from './windows.js';

export const CPU_METRICS = ['system.cpu.time', 'system.cpu.utilization'] as const;

// Summed over CPUs: cpu.logical_number is opt-in in semconv, and one series per core and mode
// would multiply the series count by the core count.
const attributes = (modes: readonly string[]) => modes.map((mode) => Object.freeze({ 'cpu.mode': mode }));
// Linux reads the aggregate `cpu` line of /proc/stat: 16 µs against 142 µs for os.cpus(), which
// also reads /proc/cpuinfo and a sysfs file per CPU, and it has iowait and steal, which os.cpus()
// drops. Columns: user nice system idle iowait irq softirq steal (proc(5)); softirq counts as
// interrupt, the closest semconv mode.
const LINUX_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'interrupt', 'steal'];
const LINUX_ATTRIBUTES = attributes(LINUX_MODES);
// USER_HZ, the unit of /proc/stat, is 100 on every architecture Node runs on (it is ABI, unlike
// the kernel's HZ); the test compares against os.cpus(), which libuv converts with sysconf.
const SECONDS_PER_TICK = 0.01;
const OS_FIELDS = ['user', 'nice', 'sys', 'idle', 'irq'] as const;
const OS_ATTRIBUTES = attributes(['user', 'nice', 'system', 'idle', 'interrupt']);
const FIX = "Leave 'cpu' out of MON_METRICS (or the groups option) to stop collecting it.";

/** Seconds per mode, summed over all logical CPUs, in LINUX_MODES order. */
export function parseProcStat(text: string): Float64Array {
  const line = text.slice(0, text.indexOf('\n'));
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu' || f.length < 9) throw new Error(`unexpected /proc/stat line: ${line}`);
  const tick = (i: number) => Number(f[i]) * SECONDS_PER_TICK;
  return Float64Array.of(tick(1), tick(2), tick(3), tick(4), tick(5), tick(6) + tick(7), tick(8));
}

/** Each mode's share of the total; undefined for a zero total. */
function sharesOf(times: Float64Array): Float64Array | undefined {
  let total = 0;
  for (const t of times) total += t;
  return total > 0 ? times.map((t) => t / total) : undefined;
}

function readOsCpus(): Float64Array {
  const cpus = os.cpus();
  if (cpus.length === 0) throw new Error('os.cpus() returned no CPUs');
  const times = new Float64Array(OS_FIELDS.length);
  for (const cpu of cpus) {
    for (let i = 0; i < OS_FIELDS.length; i++) times[i]! += cpu.times[OS_FIELDS[i]!] / 1000;
  }
  return times;
}

export function startCpuMetrics(meter: Meter, report: Report, windows: Windows): () => void {
  const time = meter.createObservableCounter('system.cpu.time', {
    unit: 's',
    description: 'Seconds the logical CPUs spent in each mode, summed over CPUs.',
  });
  const utilization = meter.createObservableGauge('system.cpu.utilization', {
    unit: '1',
    description: 'Share of CPU time spent in each mode over the last 60 s, all logical CPUs together.',
  });

  let stat: ProcFile | undefined;
  let read = readOsCpus;
  let modes = OS_ATTRIBUTES;
  if (process.platform === 'linux') {
    try {
      const file = openProcFile('/proc/stat');
      stat = file;
      // The first line is all we need; /proc/stat can run to many KB of interrupt counts.
      read = () => parseProcStat(file.read(4096));
      modes = LINUX_ATTRIBUTES;
    } catch {
      // No readable /proc (some sandboxes): os.cpus() works from other sources on those.
    }
  }

  // A reading that fails is reported by the collection, which fails the same way.
  const readings = windows.readings(read);

  const callback: BatchObservableCallback = (result) => {
    let current: Float64Array;
    try {
      current = read();
    } catch (error) {
      report('cpu', error, FIX);
      return;
    }
    for (let i = 0; i < modes.length; i++) result.observe(time, current[i]!, modes[i]);
    const before = readings.base(performance.now(), windows.spanMs)?.value;
    // Divide by the total of all modes rather than wall time x CPUs: the shares then sum to 1 and
    // stay in [0, 1] even when the kernel's tick accounting and our clock disagree. Negative
    // deltas (idle going backwards is a known NO_HZ quirk) count as zero.
    const deltas = new Float64Array(modes.length);
    if (before) for (let i = 0; i < modes.length; i++) deltas[i] = Math.max(0, current[i]! - before[i]!);
    // No change (a collection right after start, inside one clock tick of 10 ms): the shares since
    // boot, rather than 0/0 or no series.
    const shares = sharesOf(deltas) ?? sharesOf(current);
    if (shares) for (let i = 0; i < modes.length; i++) result.observe(utilization, shares[i]!, modes[i]);
  };

  meter.addBatchObservableCallback(callback, [time, utilization]);
  return () => {
    readings.stop();
    meter.removeBatchObservableCallback(callback, [time, utilization]);
    stat?.close();
  };
}
