// Container metrics: this process's cgroup (v1 or v2) as a container runtime enforces it: the
// limits, the memory the kernel and the kubelet act on, throttling, limit hits and OOM kills.
// Nothing is observed while the cgroup has neither a memory nor a CPU limit (a bare host, a
// systemd slice without limits): those figures would only repeat the machine's.
import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import type { Warn } from '@mon/warnings';
import type { Report } from '../report.js';
import type { Cgroup } from './cgroup.js';
import { warnIfHeapAboveLimit } from './heap-limit.js';

export const CONTAINER_METRICS = [
  'container.memory.limit',
  'container.memory.usage',
  'container.memory.working_set',
  'container.memory.available',
  'container.memory.rss',
  'container.memory.limit_hits',
  'container.memory.oom_kills',
  'container.cpu.limit',
  'container.cpu.time',
  'container.cpu.periods',
  'container.cpu.throttled_periods',
  'container.cpu.throttled_time',
] as const;

const USER = Object.freeze({ 'cpu.mode': 'user' });
const SYSTEM = Object.freeze({ 'cpu.mode': 'system' });
const FIX = "Leave 'container' out of MON_METRICS (or the groups option) to stop collecting it.";

export function startContainerMetrics(meter: Meter, report: Report, cgroup: Cgroup | undefined, warn: Warn): () => void {
  if (!cgroup) return () => {}; // not Linux, or no cgroup to read: no series, nothing to say
  try {
    warnIfHeapAboveLimit(cgroup.memory()?.limit, warn);
  } catch {
    // Reported by the first collection, which reads the same files.
  }

  const bytes = (name: string, description: string) => meter.createObservableUpDownCounter(name, { unit: 'By', description });
  // OpenTelemetry's container conventions.
  const usage = bytes('container.memory.usage', 'Memory charged to the container (cgroup), page cache included.');
  const workingSet = bytes('container.memory.working_set', 'Memory usage less inactive file pages: what the kubelet evicts on and the OOM killer acts near.');
  const available = bytes('container.memory.available', 'Memory limit less working set; absent without a memory limit.');
  const rss = bytes('container.memory.rss', "Anonymous memory of the container's processes.");
  const cpuTime = meter.createObservableCounter('container.cpu.time', { unit: 's', description: "CPU seconds used by the container's processes, by mode." });
  // mon's own, named in the same style.
  const memoryLimit = bytes('container.memory.limit', "The container's memory limit: the smallest from its cgroup up.");
  const limitHits = meter.createObservableCounter('container.memory.limit_hits', {
    unit: '{event}',
    description: 'Times memory usage reached the limit (v2 memory.events max, v1 memory.failcnt and memory.memsw.failcnt).',
  });
  const oomKills = meter.createObservableCounter('container.memory.oom_kills', {
    unit: '{process}',
    description: "Processes in the container ended by the kernel's OOM killer.",
  });
  const cpuLimit = meter.createObservableGauge('container.cpu.limit', {
    unit: '{cpu}',
    description: "The container's CPU limit in CPUs (quota / period): the smallest from its cgroup up.",
  });
  const periods = meter.createObservableCounter('container.cpu.periods', { unit: '{period}', description: 'CPU bandwidth enforcement periods that have elapsed.' });
  const throttledPeriods = meter.createObservableCounter('container.cpu.throttled_periods', {
    unit: '{period}',
    description: 'Enforcement periods in which the container used up its quota and was throttled.',
  });
  const throttledTime = meter.createObservableCounter('container.cpu.throttled_time', {
    unit: 's',
    description: "Seconds the container's threads were held back by the CPU quota.",
  });
  const instruments: Observable[] = [usage, workingSet, available, rss, cpuTime, memoryLimit, limitHits, oomKills, cpuLimit, periods, throttledPeriods, throttledTime];

  const callback: BatchObservableCallback = (result) => {
    // Re-read at each collection: a pod is resized in place, and its limits with it. The limits
    // first: without any (a bare host, a systemd slice) only they are read, not the figures that
    // would not be observed (collect.bench.mjs: 0.10-0.12 ms there instead of 0.17-0.22). The quota walk
    // is shared with process.cpu.utilization, so reading it twice costs a memory-only limit little.
    let memory;
    let cpu;
    try {
      cpu = cgroup.cpu(true);
      memory = cgroup.memory(cpu === undefined);
      if (memory?.limit === undefined && cpu === undefined) return;
      cpu ??= cgroup.cpu();
    } catch (error) {
      report('container', error, FIX);
      return;
    }
    const observe = (instrument: Observable, value: number | undefined, attributes?: Attributes) => {
      if (value !== undefined && Number.isFinite(value)) result.observe(instrument, value, attributes);
    };
    if (memory) {
      observe(memoryLimit, memory.limit);
      observe(usage, memory.usage);
      observe(workingSet, memory.workingSet);
      if (memory.limit !== undefined) observe(available, Math.max(0, memory.limit - memory.workingSet));
      observe(rss, memory.rss);
      observe(limitHits, memory.limitHits);
      observe(oomKills, memory.oomKills);
    }
    if (cpu) {
      observe(cpuLimit, cpu.limit);
      observe(cpuTime, cpu.user, USER);
      observe(cpuTime, cpu.system, SYSTEM);
      observe(periods, cpu.periods);
      observe(throttledPeriods, cpu.throttledPeriods);
      observe(throttledTime, cpu.throttledTime);
    }
  };

  meter.addBatchObservableCallback(callback, instruments);
  return () => meter.removeBatchObservableCallback(callback, instruments);
}
