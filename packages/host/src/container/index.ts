// Container metrics from this process's cgroup. This file is the table of contents.
//
// find.ts (where the cgroups are), files.ts (kept-open cgroup files), shared-reading.ts (one quota
// walk for two callbacks), cgroup.ts (one reading, same shape for both versions), cgroup-v1.ts,
// cgroup-v2.ts, container-metrics.ts (the series, and as instruments), producer.ts (the same
// series from a MetricProducer), heap-limit.ts (the warning when V8's heap may outgrow the container).
export { openCgroup } from './cgroup.js';
export type { Cgroup, CpuReading, MemoryReading } from './cgroup.js';
export { findCgroups } from './find.js';
export { CONTAINER_METRICS, startContainerMetrics, warnHeapLimit } from './container-metrics.js';
export { containerProducer } from './producer.js';
export { heapLimitWarning } from './heap-limit.js';
