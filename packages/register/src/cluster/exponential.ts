// A histogram point's native (base-2 exponential) buckets across the cluster: carried over IPC
// beside the classic buckets (wire.ts) and summed at the coarser scale of two processes (merge.ts).
import type { ExponentialHistogram, Histogram } from '@opentelemetry/sdk-metrics';
import type { HistogramWithExponential } from '@mon/prometheus';
import { combineSnapshots, type ExponentialSnapshot } from '../exponential-buckets.js';

export type { ExponentialSnapshot };

export function snapshotOf(e: ExponentialHistogram): ExponentialSnapshot {
  return { scale: e.scale, zeroCount: e.zeroCount, offset: e.positive.offset, bucketCounts: e.positive.bucketCounts };
}

/** A histogram's exponential form: its own count, sum, min and max, with these buckets. */
export function exponentialOf(h: Histogram, s: ExponentialSnapshot): ExponentialHistogram {
  return {
    count: h.count,
    ...(h.sum === undefined ? {} : { sum: h.sum }),
    ...(h.min === undefined ? {} : { min: h.min }),
    ...(h.max === undefined ? {} : { max: h.max }),
    scale: s.scale,
    zeroCount: s.zeroCount,
    positive: { offset: s.offset, bucketCounts: s.bucketCounts.slice() },
    negative: { offset: 0, bucketCounts: [] },
  };
}

// Durations are never negative: the negative side is not carried.
export function exponentialToWire(h: Histogram): { exponential?: ExponentialSnapshot } {
  const e = (h as HistogramWithExponential).exponential;
  return e === undefined ? {} : { exponential: snapshotOf(e) };
}

/** `a`'s native buckets plus `b`'s, in place; none when either process had none (an older mon). */
export function addExponential(a: Histogram, b: Histogram): void {
  const ae = (a as HistogramWithExponential).exponential;
  const be = (b as HistogramWithExponential).exponential;
  (a as HistogramWithExponential).exponential =
    ae === undefined || be === undefined ? undefined : exponentialOf(a, combineSnapshots(snapshotOf(ae), snapshotOf(be), 1));
}

/** Sets the decoded native buckets on a decoded histogram. */
export function setExponential(h: Histogram, wire: ExponentialSnapshot | undefined): void {
  if (wire !== undefined) (h as HistogramWithExponential).exponential = exponentialOf(h, wire);
}
