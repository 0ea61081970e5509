// Process CPU: user/system seconds and the share of the CPUs available to the process used over
// the window (windows.ts: the last 60 s; before that, since start).
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BatchObservableCallback, Meter } from '@opentelemetry/api';
import type { Cgroup } from './container/index.js';
import type { Report } from './report.js';
import type { Windows } from './windows.js';

export const PROCESS_CPU_METRICS = ['process.cpu.time', 'process.cpu.utilization'] as const;

const USER = Object.freeze({ 'cpu.mode': 'user' });
const SYSTEM = Object.freeze({ 'cpu.mode': 'system' });
const FIX = "Leave 'cpu' out of MON_METRICS (or the groups option) to stop collecting it.";

export function startProcessCpuMetrics(meter: Meter, report: Report, windows: Windows, cgroup?: Cgroup): () => void {
  const time = meter.createObservableCounter('process.cpu.time', {
    unit: 's',
    description: 'CPU seconds used by this process, by mode.',
  });
  const utilization = meter.createObservableGauge('process.cpu.utilization', {
    unit: '1',
    description: 'CPU time used by this process over the last 60 s, divided by elapsed time and the CPUs it may use (affinity, and the container CPU limit).',
  });

  // availableParallelism, not os.cpus().length: it honours CPU affinity, and semconv divides by
  // the CPUs available to the process. A container's CPU quota (quota / period, re-read at each
  // collection: a pod is resized in place) caps it further.
  const affinity = os.availableParallelism();
  const cpusAvailable = () => {
    let quota: number | undefined;
    try {
      quota = cgroup?.cpuLimit();
    } catch {
      // Reported by the container group when it runs; without it, affinity alone.
    }
    return quota !== undefined && quota > 0 && quota < affinity ? quota : affinity;
  };
  const readings = windows.readings(() => process.cpuUsage());

  const callback: BatchObservableCallback = (result) => {
    let usage: NodeJS.CpuUsage;
    try {
      usage = process.cpuUsage();
    } catch (error) {
      report('process cpu', error, FIX);
      return;
    }
    const now = performance.now();
    result.observe(time, usage.user / 1e6, USER);
    result.observe(time, usage.system / 1e6, SYSTEM);
    // cpuUsage() is in microseconds, performance.now() in milliseconds.
    const before = readings.base(now, windows.spanMs);
    const available = before === undefined ? 0 : (now - before.at) * 1000 * cpusAvailable();
    if (available > 0) {
      result.observe(utilization, (usage.user - before!.value.user) / available, USER);
      result.observe(utilization, (usage.system - before!.value.system) / available, SYSTEM);
    }
  };

  meter.addBatchObservableCallback(callback, [time, utilization]);
  return () => {
    readings.stop();
    meter.removeBatchObservableCallback(callback, [time, utilization]);
  };
}
