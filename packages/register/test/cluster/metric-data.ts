// Hand-built MetricData for the cluster tests: one builder per instrument kind, and lookups.
import type { Attributes, HrTime } from '@opentelemetry/api';
import { HOST_METER_NAME } from '@mon/host';
import { AggregationTemporality, DataPointType, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';

export const T0: HrTime = [1000, 0];
export const T1: HrTime = [2000, 0];
export const NOW: HrTime = [3000, 0];
export const BOUNDARIES = [0.1, 1];
export const descriptor = (name: string, unit = '') => ({ name, description: name, unit, valueType: 1 });

export function counter(name: string, points: Array<[Attributes, number]>, startTime = T0): MetricData {
  return {
    descriptor: descriptor(name),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points.map(([attributes, value]) => ({ startTime, endTime: T1, attributes, value })),
  };
}

export function upDown(name: string, points: Array<[Attributes, number]>): MetricData {
  return { ...(counter(name, points) as MetricData & { isMonotonic: boolean }), isMonotonic: false } as MetricData;
}

export function gauge(name: string, value: number, attributes: Attributes = {}): MetricData {
  return {
    descriptor: descriptor(name),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [{ startTime: T0, endTime: T1, attributes, value }],
  };
}

export function histogram(name: string, counts: number[], sum: number, min: number, max: number, attributes: Attributes = {}, boundaries = BOUNDARIES): MetricData {
  const count = counts.reduce((a, b) => a + b, 0);
  return {
    descriptor: descriptor(name, 's'),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ startTime: T0, endTime: T1, attributes, value: { buckets: { boundaries, counts }, count, sum, min, max } }],
  };
}

export const scope = (...metrics: MetricData[]): ScopeMetrics[] => [{ scope: { name: 'test' }, metrics }];
/** Metrics from mon's host meter, which merge by their namespace too (merge-rule.ts). */
export const hostScope = (...metrics: MetricData[]): ScopeMetrics[] => [{ scope: { name: HOST_METER_NAME }, metrics }];

export function find(scopes: ScopeMetrics[], name: string): MetricData | undefined {
  return scopes.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

export function values(scopes: ScopeMetrics[], name: string): Array<[Attributes, unknown]> {
  return (find(scopes, name)?.dataPoints ?? []).map((p) => [p.attributes, p.value]);
}
