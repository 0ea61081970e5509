// How one metric adds up over a cluster's processes: an instrument says it by its kind, and mon's host instruments add what their kind cannot say.
import type { InstrumentationScope } from '@opentelemetry/core';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { HOST_METER_NAME } from '@mon/host/meter-name';

/**
 * - total: summed over the processes, dead ones included (counters, histograms).
 * - level: summed over the live processes (up-down counters: requests in flight, a queue's length).
 * - per-process: one series per process, labelled (gauges: a sum would hide the one that leaks).
 * - machine: the same machine seen from every process; the first contribution's (the primary's).
 */
export type MergeRule = 'total' | 'level' | 'per-process' | 'machine';

/**
 * The OpenTelemetry data model decides for every instrument: sums and histograms are additive,
 * gauges are not; an app picks the kind that says how its instrument merges (an up-down counter
 * to be summed, an observable gauge to be kept per process). mon's host instruments (meter
 * HOST_METER_NAME) say two things more, by their semantic-convention namespace: system.* is the
 * machine, and their up-down counters (RSS, heap, file descriptors) are amounts of one process. An
 * app's own instrument is never judged by its name.
 */
export function mergeRule(scope: InstrumentationScope, metric: MetricData): MergeRule {
  const host = scope.name === HOST_METER_NAME;
  // container.*: the cgroup every process of the cluster shares, reported by the primary alone.
  if (host && (metric.descriptor.name.startsWith('system.') || metric.descriptor.name.startsWith('container.'))) return 'machine';
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'total';
  if (metric.dataPointType === DataPointType.SUM) {
    if (metric.isMonotonic) return 'total';
    return host ? 'per-process' : 'level';
  }
  return 'per-process';
}
