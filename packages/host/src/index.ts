export { startHostMetrics, HOST_METRIC_NAMES } from './host-metrics.js';
export { HOST_METER_NAME } from './meter-name.js';
export type { HostMetrics, HostMetricsOptions, HostMetricGroup } from './host-metrics.js';
export { describeError } from './describe-error.js';
export type { Peek } from './windows.js';
