export { startHostMetrics, HOST_METER_NAME, HOST_METRIC_NAMES } from './host-metrics.js';
export type { HostMetrics, HostMetricsOptions, HostMetricGroup } from './host-metrics.js';
export type { Peek } from './windows.js';
export { describeError } from './report.js';
