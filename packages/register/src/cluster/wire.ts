// Metrics as a JSON string for the IPC channel, and back.
// Wire format: JSON-safe (JSON has no NaN or Infinity; a cluster may use either IPC
// serialization). End times are left out: the primary stamps its own, and a push whose data did
// not change then encodes to the same string, which is how a worker knows not to send it.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { DataPointType, type Histogram, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { exponentialToWire, setExponential, type ExponentialSnapshot } from './exponential.js';

type WireNumber = number | string;

interface WireHistogram {
  boundaries: number[];
  counts: number[];
  count: number;
  sum?: WireNumber;
  min?: WireNumber;
  max?: WireNumber;
  /** The same observations in exponential buckets (http-server-metrics.ts), for native histograms. */
  exponential?: ExponentialSnapshot;
}

interface WirePoint {
  startTime: HrTime;
  attributes: Attributes;
  value: WireNumber | WireHistogram;
}

interface WireMetric {
  descriptor: MetricData['descriptor'];
  dataPointType: DataPointType;
  aggregationTemporality: MetricData['aggregationTemporality'];
  isMonotonic?: boolean;
  points: WirePoint[];
}

interface WireScope {
  scope: InstrumentationScope;
  metrics: WireMetric[];
}

const toWire = (n: number): WireNumber => (Number.isFinite(n) ? n : String(n));
const fromWire = (n: WireNumber): number => (typeof n === 'number' ? n : Number(n));

/** ScopeMetrics as a JSON string. Exponential histograms are left out: nothing in mon creates them. */
export function encodeScopes(scopes: readonly ScopeMetrics[]): string {
  const out: WireScope[] = [];
  for (const { scope, metrics } of scopes) {
    const wire: WireMetric[] = [];
    for (const metric of metrics) {
      if (metric.dataPoints.length === 0) continue;
      const base = {
        descriptor: metric.descriptor,
        dataPointType: metric.dataPointType,
        aggregationTemporality: metric.aggregationTemporality,
      };
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        wire.push({
          ...base,
          points: metric.dataPoints.map((p) => ({
            startTime: p.startTime,
            attributes: p.attributes,
            value: {
              boundaries: p.value.buckets.boundaries,
              counts: p.value.buckets.counts,
              count: p.value.count,
              ...(p.value.sum === undefined ? {} : { sum: toWire(p.value.sum) }),
              ...(p.value.min === undefined ? {} : { min: toWire(p.value.min) }),
              ...(p.value.max === undefined ? {} : { max: toWire(p.value.max) }),
              ...exponentialToWire(p.value),
            },
          })),
        });
      } else if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
        wire.push({
          ...base,
          ...(metric.dataPointType === DataPointType.SUM ? { isMonotonic: metric.isMonotonic } : {}),
          points: metric.dataPoints.map((p) => ({ startTime: p.startTime, attributes: p.attributes, value: toWire(p.value) })),
        });
      }
    }
    if (wire.length > 0) out.push({ scope, metrics: wire });
  }
  return JSON.stringify(out);
}

/** The inverse of encodeScopes; every point gets `endTime`. */
export function decodeScopes(json: string, endTime: HrTime): ScopeMetrics[] {
  const wire = JSON.parse(json) as WireScope[];
  return wire.map(({ scope, metrics }) => ({
    scope,
    metrics: metrics.map((m): MetricData => {
      const base = { descriptor: m.descriptor, aggregationTemporality: m.aggregationTemporality };
      if (m.dataPointType === DataPointType.HISTOGRAM) {
        return {
          ...base,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: m.points.map((p) => {
            const h = p.value as WireHistogram;
            const value: Histogram = { buckets: { boundaries: h.boundaries, counts: h.counts }, count: h.count };
            if (h.sum !== undefined) value.sum = fromWire(h.sum);
            if (h.min !== undefined) value.min = fromWire(h.min);
            if (h.max !== undefined) value.max = fromWire(h.max);
            setExponential(value, h.exponential);
            return { startTime: p.startTime, endTime, attributes: p.attributes, value };
          }),
        };
      }
      const dataPoints = m.points.map((p) => ({
        startTime: p.startTime,
        endTime,
        attributes: p.attributes,
        value: fromWire(p.value as WireNumber),
      }));
      return m.dataPointType === DataPointType.SUM
        ? { ...base, dataPointType: DataPointType.SUM, isMonotonic: m.isMonotonic === true, dataPoints }
        : { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
    }),
  }));
}
