// What the pre-aggregating recorders of explicit-bucket durations (the HTTP client, databases,
// RPC) share at collection time: a MetricProducer per reader, and a Durations series turned into
// one histogram data point, cumulative or delta. Never on the hot path: record() stays in each.
import type { HrTime } from '@opentelemetry/api';
import { hrTime } from './hr-time.js';
import type { CollectionResult, DataPoint, Histogram, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality } from './sdk-constants.js';
import type { Resource } from '@opentelemetry/resources';
import { DURATION_BOUNDARIES, type Durations } from './http-server-metrics.js';

/** Per delta reader: what it was last sent. */
export interface Snapshot {
  count: number;
  sum: number;
  buckets: number[];
}

/** What a delta reader was last sent, by series; undefined for a cumulative reader. */
export type Sent = WeakMap<Durations, Snapshot> | undefined;

/**
 * A producer for one reader; see HttpServerMetrics.producer for the temporality rules. `collect`
 * gets the snapshots of this reader (delta only) and the end of its previous collection.
 */
export function durationsProducer(
  startTime: HrTime,
  temporality: AggregationTemporality,
  collect: (now: HrTime, sent: Sent, lastCollection: HrTime) => MetricData[],
): MetricProducer {
  const sent: Sent = temporality === AggregationTemporality.DELTA ? new WeakMap<Durations, Snapshot>() : undefined;
  let lastCollection = startTime;
  return {
    collect: async (): Promise<CollectionResult> => {
      const now = hrTime();
      const metrics = collect(now, sent, lastCollection);
      lastCollection = now;
      return {
        // Nothing recorded yet: no scope at all, an empty one is noise on the wire.
        resourceMetrics: {
          resource: undefined as unknown as Resource,
          scopeMetrics: metrics.length > 0 ? [{ scope: { name: '@mon/register' }, metrics }] : [],
        },
        errors: [],
      };
    },
  };
}

/**
 * Appends `series` to `points` as a histogram point in seconds: for a delta reader, what it
 * gained since that reader's last collection (nothing when it gained no call); min and max only
 * when cumulative, since a delta cannot know them.
 */
export function pushDurations(points: DataPoint<Histogram>[], series: Durations, sent: Sent, startTime: HrTime, now: HrTime): void {
  let count = series.count;
  let sum = series.sumMicros / 1e6;
  let buckets = series.buckets;
  if (sent !== undefined) {
    const last = sent.get(series);
    const current = { count, sum, buckets: buckets.slice() };
    sent.set(series, current);
    if (last !== undefined) {
      count -= last.count;
      sum -= last.sum;
      buckets = current.buckets.map((c, i) => c - last.buckets[i]!);
    }
    if (count === 0) return;
  }
  points.push({
    startTime,
    endTime: now,
    attributes: series.attributes,
    value: {
      buckets: { boundaries: DURATION_BOUNDARIES as number[], counts: buckets.slice() },
      count,
      sum,
      ...(sent !== undefined ? {} : { min: series.minMicros / 1e6, max: series.maxMicros / 1e6 }),
    },
  });
}
