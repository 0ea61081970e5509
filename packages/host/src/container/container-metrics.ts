// Container metrics: this process's cgroup (v1 or v2) as a container runtime enforces it: the
// limits, the memory the kernel and the kubelet act on, throttling, limit hits and OOM kills.
// Nothing is observed while the cgroup has neither a memory nor a CPU limit (a bare host, a
// systemd slice without limits): those figures would only repeat the machine's.
//
// The series are defined once (CONTAINER_SERIES) and reach a reader one of two ways: as observable
// instruments on the meter (startContainerMetrics), or from a MetricProducer (producer.ts), which
// costs the collection about half as much (test/bench/RESULTS.md, "Container collection").
import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import type { Warn } from '@mon/warnings';
import type { Report } from '../report.js';
import type { Cgroup } from './cgroup.js';
import { warnIfHeapAboveLimit } from './heap-limit.js';

/** How a series adds up, as the instrument kind the SDK would give it says. */
export type SeriesKind = 'up-down' | 'counter' | 'gauge';

export interface ContainerSeries {
  /** Its place in CONTAINER_SERIES: what a consumer indexes its own per-series data by (no Map lookup at a collection). */
  readonly index: number;
  readonly name: string;
  readonly kind: SeriesKind;
  readonly unit: string;
  readonly description: string;
}

let defined = 0;
const series = (name: string, kind: SeriesKind, unit: string, description: string): ContainerSeries =>
  Object.freeze({ index: defined++, name, kind, unit, description });

/** Every container series, in the order collectContainer emits them in (CONTAINER_METRICS lists their names). */
export const CONTAINER_SERIES = Object.freeze({
  // mon's own, named in the style of OpenTelemetry's container conventions.
  memoryLimit: series('container.memory.limit', 'up-down', 'By', "The container's memory limit: the smallest from its cgroup up."),
  // OpenTelemetry's container conventions.
  usage: series('container.memory.usage', 'up-down', 'By', 'Memory charged to the container (cgroup), page cache included.'),
  workingSet: series(
    'container.memory.working_set',
    'up-down',
    'By',
    'Memory usage less inactive file pages: what the kubelet evicts on and the OOM killer acts near.',
  ),
  available: series('container.memory.available', 'up-down', 'By', 'Memory limit less working set; absent without a memory limit.'),
  rss: series('container.memory.rss', 'up-down', 'By', "Anonymous memory of the container's processes."),
  limitHits: series(
    'container.memory.limit_hits',
    'counter',
    '{event}',
    'Times memory usage reached the limit (v2 memory.events max, v1 memory.failcnt and memory.memsw.failcnt).',
  ),
  oomKills: series('container.memory.oom_kills', 'counter', '{process}', "Processes in the container ended by the kernel's OOM killer."),
  cpuLimit: series('container.cpu.limit', 'gauge', '{cpu}', "The container's CPU limit in CPUs (quota / period): the smallest from its cgroup up."),
  cpuTime: series('container.cpu.time', 'counter', 's', "CPU seconds used by the container's processes, by mode."),
  periods: series('container.cpu.periods', 'counter', '{period}', 'CPU bandwidth enforcement periods that have elapsed.'),
  throttledPeriods: series('container.cpu.throttled_periods', 'counter', '{period}', 'Enforcement periods in which the container used up its quota and was throttled.'),
  throttledTime: series('container.cpu.throttled_time', 'counter', 's', "Seconds the container's threads were held back by the CPU quota."),
});

export const CONTAINER_METRICS: readonly string[] = Object.freeze(Object.values(CONTAINER_SERIES).map((s) => s.name));

const USER = Object.freeze({ 'cpu.mode': 'user' });
const SYSTEM = Object.freeze({ 'cpu.mode': 'system' });
const FIX = "Leave 'container' out of MON_METRICS (or the groups option) to stop collecting it.";

/** Receives each point of one collection; `value` is finite. */
export type Emit = (series: ContainerSeries, value: number, attributes?: Attributes) => void;

/**
 * One collection of the container figures, each handed to `emit`. Nothing without a limit; a
 * failing read is reported once (report.ts) and emits nothing.
 */
export function collectContainer(cgroup: Cgroup, report: Report, emit: Emit): void {
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
  const s = CONTAINER_SERIES;
  if (memory) {
    observe(emit, s.memoryLimit, memory.limit);
    observe(emit, s.usage, memory.usage);
    observe(emit, s.workingSet, memory.workingSet);
    if (memory.limit !== undefined) observe(emit, s.available, Math.max(0, memory.limit - memory.workingSet));
    observe(emit, s.rss, memory.rss);
    observe(emit, s.limitHits, memory.limitHits);
    observe(emit, s.oomKills, memory.oomKills);
  }
  if (cpu) {
    observe(emit, s.cpuLimit, cpu.limit);
    observe(emit, s.cpuTime, cpu.user, USER);
    observe(emit, s.cpuTime, cpu.system, SYSTEM);
    observe(emit, s.periods, cpu.periods);
    observe(emit, s.throttledPeriods, cpu.throttledPeriods);
    observe(emit, s.throttledTime, cpu.throttledTime);
  }
}

function observe(emit: Emit, which: ContainerSeries, value: number | undefined, attributes?: Attributes): void {
  if (value !== undefined && Number.isFinite(value)) emit(which, value, attributes);
}

/** Says once, at start, when V8's heap may outgrow the container (heap-limit.ts). */
export function warnHeapLimit(cgroup: Cgroup, warn: Warn): void {
  try {
    warnIfHeapAboveLimit(cgroup.memory()?.limit, warn);
  } catch {
    // Reported by the first collection, which reads the same files.
  }
}

/** The container series as observable instruments on `meter`, one batch callback for all. */
export function startContainerMetrics(meter: Meter, report: Report, cgroup: Cgroup | undefined, warn: Warn): () => void {
  if (!cgroup) return () => {}; // not Linux, or no cgroup to read: no series, nothing to say
  warnHeapLimit(cgroup, warn);

  const instruments = new Map<ContainerSeries, Observable>();
  for (const s of Object.values(CONTAINER_SERIES)) {
    const options = { unit: s.unit, description: s.description };
    instruments.set(
      s,
      s.kind === 'up-down'
        ? meter.createObservableUpDownCounter(s.name, options)
        : s.kind === 'counter'
          ? meter.createObservableCounter(s.name, options)
          : meter.createObservableGauge(s.name, options),
    );
  }
  const list = [...instruments.values()];
  const callback: BatchObservableCallback = (result) =>
    collectContainer(cgroup, report, (s, value, attributes) => result.observe(instruments.get(s)!, value, attributes));
  meter.addBatchObservableCallback(callback, list);
  return () => meter.removeBatchObservableCallback(callback, list);
}
