// How one metric adds up over a cluster's processes (the OpenTelemetry data model: sums and histograms are additive, gauges not).
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';

export type MergeRule = 'total' | 'level' | 'per-process' | 'machine';

const PER_PROCESS_NAMESPACES = /^(?:process|nodejs|v8js)\./;

export function mergeRule(metric: MetricData): MergeRule {
  // The same machine seen from every process: the first contribution (the primary) has it.
  if (metric.descriptor.name.startsWith('system.')) return 'machine';
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'total';
  if (metric.dataPointType === DataPointType.SUM) {
    if (metric.isMonotonic) return 'total';
    return PER_PROCESS_NAMESPACES.test(metric.descriptor.name) ? 'per-process' : 'level';
  }
  return 'per-process';
}

