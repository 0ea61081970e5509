import { AggregationTemporality, DataPointType, type ExponentialHistogram, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DELAY_BUCKETS } from '@mon/host/event-loop-delay';
import { HOST_METER_NAME } from '@mon/host/meter-name';
import { EventLoopDelayHistogram } from '../src/event-loop-delay.js';
import type { HistogramWithExponential } from '@mon/prometheus';

async function collect(producer: ReturnType<EventLoopDelayHistogram['producer']>): Promise<MetricData | undefined> {
  const { resourceMetrics } = await producer.collect();
  const scopes = resourceMetrics.scopeMetrics;
  if (scopes.length === 0) return undefined;
  expect(scopes).toHaveLength(1);
  expect(scopes[0]!.scope.name).toBe(HOST_METER_NAME);
  expect(scopes[0]!.metrics).toHaveLength(1);
  return scopes[0]!.metrics[0];
}

/** The native buckets as [lower, upper, count] in seconds, non-empty only. */
function nativeBuckets(e: ExponentialHistogram): Array<[number, number, number]> {
  const base = 2 ** (2 ** -e.scale);
  return e.positive.bucketCounts.flatMap((count, i) => (count > 0 ? [[base ** (e.positive.offset + i), base ** (e.positive.offset + i + 1), count] as [number, number, number]] : []));
}

describe('EventLoopDelayHistogram', () => {
  it('has no point before its first sample', async () => {
    expect(await collect(new EventLoopDelayHistogram().producer())).toBeUndefined();
  });

  it('counts a sample and the zeros of an idle tick in the classic and the native buckets alike', async () => {
    const h = new EventLoopDelayHistogram();
    h.record(120.4, 0); // a busy tick 120 µs late: whole microseconds
    h.record(300_000, 49); // a 300 ms stall seen by an idle tick, with its 49 samples of 0
    h.record(0.3, 0); // under half a microsecond: none
    const metric = (await collect(h.producer()))!;
    expect(metric.descriptor).toMatchObject({ name: 'nodejs.eventloop.delay', unit: 's' });
    expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(metric.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    const value = metric.dataPoints[0]!.value as HistogramWithExponential;
    expect(value.count).toBe(52);
    expect(value.sum).toBeCloseTo(0.30012, 9);
    expect(value.min).toBe(0);
    expect(value.max).toBe(0.3);
    expect(value.buckets.boundaries).toEqual(DELAY_BUCKETS);
    // le=0.0005: the 120 µs, the 0 and the 49 zeros; le=0.512: the stall (0.256 < 0.3 <= 0.512).
    const expected = new Array<number>(DELAY_BUCKETS.length + 1).fill(0);
    expected[0] = 51;
    expected[DELAY_BUCKETS.indexOf(0.512)] = 1;
    expect(value.buckets.counts).toEqual(expected);
    const e = value.exponential!;
    expect(e.count).toBe(52);
    expect(e.zeroCount).toBe(50);
    const buckets = nativeBuckets(e);
    expect(buckets.reduce((n, b) => n + b[2], 0)).toBe(2);
    // Each sample inside its bucket, and the bucket narrow (the range 120 µs .. 0.3 s fits 160 buckets at scale 3).
    for (const seconds of [0.00012, 0.3]) {
      const b = buckets.find(([lo, hi]) => lo < seconds && seconds <= hi * (1 + 1e-12));
      expect(b, String(seconds)).toBeDefined();
      expect(b![1] / b![0]).toBeLessThan(1.1);
    }
  });

  it('gives a delta reader what came since its last collection, and an exponential-only reader an exponential histogram', async () => {
    const h = new EventLoopDelayHistogram();
    const delta = h.producer(AggregationTemporality.DELTA);
    const exponential = h.producer(AggregationTemporality.CUMULATIVE, 'exponential');
    h.record(2_000, 0);
    h.record(100, 49);
    const first = (await collect(delta))!;
    expect(first.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect((first.dataPoints[0]!.value as Histogram).count).toBe(51);
    expect((first.dataPoints[0]!.value as Histogram).min).toBeUndefined();
    // Nothing new: no point at all.
    expect(await collect(delta)).toBeUndefined();
    h.record(40_000, 0);
    const second = (await collect(delta))!;
    const value = second.dataPoints[0]!.value as HistogramWithExponential;
    expect(value.count).toBe(1);
    expect(value.sum).toBeCloseTo(0.04, 9);
    expect(value.buckets.counts[DELAY_BUCKETS.indexOf(0.064)]).toBe(1);
    expect(value.buckets.counts.reduce((a, b) => a + b, 0)).toBe(1);
    expect(value.exponential!.zeroCount).toBe(0);
    expect(nativeBuckets(value.exponential!).map((b) => b[2])).toEqual([1]);
    // Its window starts at the previous collection (the one that found nothing new), not at the start.
    const nanos = ([s, n]: [number, number]) => s * 1e9 + n;
    expect(nanos(second.dataPoints[0]!.startTime)).toBeGreaterThan(nanos(first.dataPoints[0]!.endTime));

    const exp = (await collect(exponential))!;
    expect(exp.dataPointType).toBe(DataPointType.EXPONENTIAL_HISTOGRAM);
    const e = exp.dataPoints[0]!.value as ExponentialHistogram;
    expect(e.count).toBe(52);
    expect(e.zeroCount).toBe(49);
    expect(nativeBuckets(e).reduce((n, b) => n + b[2], 0)).toBe(3);
    expect(e.max).toBe(0.04);
  });
});
