// Base-2 exponential buckets for durations: the buckets of an OpenTelemetry exponential histogram
// and of a Prometheus native histogram, which are the same ones. At scale s, bucket i holds the
// values in (2^(i/2^s), 2^((i+1)/2^s)] seconds (OpenTelemetry's index; Prometheus numbers the same
// bucket i + 1). No bucket layout to choose: the scale starts at the finest one Prometheus accepts
// and drops by one (each bucket merged with its neighbour) whenever the recorded range would need
// more than MAX_BUCKETS buckets, as the OpenTelemetry exponential aggregation does. So memory per
// series is bounded (at most MAX_BUCKETS doubles) and the relative error of any quantile is at most
// half a bucket: 2^(2^-s) - 1 wide, 2.2 % at scale 5 (a 1 ms .. 30 s range), 0.14 % at scale 8.
//
// record() runs on the hot path: one Math.log2, a multiply, a ceil and an array write while the
// value lands inside the buckets in use; the rest (growing, downscaling) runs when a new extreme
// arrives, which becomes rare once the range of the series has been seen.

/** The finest Prometheus native-histogram schema; OpenTelemetry allows finer (20), Prometheus not. */
export const MAX_SCALE = 8;
/** The most buckets a series keeps, OpenTelemetry's default for its exponential aggregation. */
export const MAX_BUCKETS = 160;
/** log2 of microseconds per second: durations are recorded in whole microseconds. */
const LOG2_MICROS_PER_SECOND = Math.log2(1e6);
const INITIAL_CAPACITY = 8;

/** What a collection reads: the OpenTelemetry ExponentialHistogram bucket fields, copied. */
export interface ExponentialSnapshot {
  scale: number;
  /** Durations of 0 µs: the zero bucket. */
  zeroCount: number;
  /** OpenTelemetry index of bucketCounts[0]. */
  offset: number;
  bucketCounts: number[];
}

export class ExponentialBuckets {
  scale = MAX_SCALE;
  zeroCount = 0;
  /** Index (at `scale`) of counts[0]. */
  offset = 0;
  /** counts[0 .. length) are in use; every entry from `length` on is 0. */
  length = 0;
  counts = new Float64Array(INITIAL_CAPACITY);
  /** 2^scale, kept so record() multiplies instead of calling Math.pow. */
  #factor = 2 ** MAX_SCALE;

  /** Records one duration, in whole microseconds (>= 0). */
  recordMicros(micros: number): void {
    if (micros <= 0) {
      this.zeroCount++;
      return;
    }
    const at = Math.ceil((Math.log2(micros) - LOG2_MICROS_PER_SECOND) * this.#factor) - 1 - this.offset;
    if (at >= 0 && at < this.length) this.counts[at]!++;
    else this.#recordOutside(at + this.offset);
  }

  snapshot(): ExponentialSnapshot {
    return { scale: this.scale, zeroCount: this.zeroCount, offset: this.offset, bucketCounts: Array.from(this.counts.subarray(0, this.length)) };
  }

  // A value below or above the buckets in use: widen them, lowering the scale first if the new
  // range would need more than MAX_BUCKETS buckets.
  #recordOutside(index: number): void {
    if (this.length === 0) {
      this.offset = index;
      this.length = 1;
      this.counts[0] = 1;
      return;
    }
    let low = Math.min(this.offset, index);
    let high = Math.max(this.offset + this.length - 1, index);
    let change = 0;
    while (high - low + 1 > MAX_BUCKETS) {
      low >>= 1;
      high >>= 1;
      change++;
    }
    if (change > 0) {
      this.#downscale(change);
      index >>= change;
    }
    if (index < this.offset) {
      const shift = this.offset - index;
      this.#reserve(this.length + shift);
      this.counts.copyWithin(shift, 0, this.length);
      this.counts.fill(0, 0, shift);
      this.offset = index;
      this.length += shift;
    } else if (index >= this.offset + this.length) {
      this.length = index - this.offset + 1;
      this.#reserve(this.length);
    }
    this.counts[index - this.offset]!++;
  }

  #reserve(size: number): void {
    if (size <= this.counts.length) return;
    let capacity = this.counts.length * 2;
    while (capacity < size) capacity *= 2;
    const grown = new Float64Array(Math.min(capacity, MAX_BUCKETS));
    grown.set(this.counts.subarray(0, this.length));
    this.counts = grown;
  }

  // Bucket i at scale s is the union of buckets 2i and 2i+1 at scale s+1, so lowering the scale by
  // `change` sends bucket i to i >> change. Entries only move down, so this runs in place.
  #downscale(change: number): void {
    const newOffset = this.offset >> change;
    const counts = this.counts;
    for (let i = 0; i < this.length; i++) {
      const j = ((this.offset + i) >> change) - newOffset;
      if (j === i) continue;
      counts[j]! += counts[i]!;
      counts[i] = 0;
    }
    this.length = ((this.offset + this.length - 1) >> change) - newOffset + 1;
    this.offset = newOffset;
    this.scale -= change;
    this.#factor = 2 ** this.scale;
  }
}

/** `snapshot` with its buckets merged down to `scale` (<= its own), as a new snapshot. */
export function downscaleSnapshot(snapshot: ExponentialSnapshot, scale: number): ExponentialSnapshot {
  const change = snapshot.scale - scale;
  if (change <= 0 || snapshot.bucketCounts.length === 0) return { ...snapshot, scale: Math.min(scale, snapshot.scale), bucketCounts: snapshot.bucketCounts.slice() };
  const offset = snapshot.offset >> change;
  const last = (snapshot.offset + snapshot.bucketCounts.length - 1) >> change;
  const bucketCounts = new Array<number>(last - offset + 1).fill(0);
  for (let i = 0; i < snapshot.bucketCounts.length; i++) bucketCounts[((snapshot.offset + i) >> change) - offset]! += snapshot.bucketCounts[i]!;
  return { scale, zeroCount: snapshot.zeroCount, offset, bucketCounts };
}

/**
 * Adds (sign 1) or subtracts (sign -1) `b` to `a` at the coarser of their scales, lowered further
 * if the result would need more than MAX_BUCKETS buckets: cluster totals (sum) and delta exports
 * (the difference from what was last sent). Returns a new snapshot.
 */
export function combineSnapshots(a: ExponentialSnapshot, b: ExponentialSnapshot, sign: 1 | -1): ExponentialSnapshot {
  let scale = Math.min(a.scale, b.scale);
  const aEnd = a.bucketCounts.length === 0 ? undefined : a.offset + a.bucketCounts.length - 1;
  const bEnd = b.bucketCounts.length === 0 ? undefined : b.offset + b.bucketCounts.length - 1;
  if (aEnd !== undefined && bEnd !== undefined) {
    for (;;) {
      const low = Math.min(a.offset >> (a.scale - scale), b.offset >> (b.scale - scale));
      const high = Math.max(aEnd >> (a.scale - scale), bEnd >> (b.scale - scale));
      if (high - low + 1 <= MAX_BUCKETS) break;
      scale--;
    }
  }
  const x = downscaleSnapshot(a, scale);
  const y = downscaleSnapshot(b, scale);
  if (y.bucketCounts.length === 0) return { ...x, zeroCount: x.zeroCount + sign * y.zeroCount };
  if (x.bucketCounts.length === 0) {
    return { scale, zeroCount: x.zeroCount + sign * y.zeroCount, offset: y.offset, bucketCounts: y.bucketCounts.map((c) => sign * c) };
  }
  const offset = Math.min(x.offset, y.offset);
  const end = Math.max(x.offset + x.bucketCounts.length, y.offset + y.bucketCounts.length);
  const bucketCounts = new Array<number>(end - offset).fill(0);
  for (let i = 0; i < x.bucketCounts.length; i++) bucketCounts[x.offset - offset + i]! += x.bucketCounts[i]!;
  for (let i = 0; i < y.bucketCounts.length; i++) bucketCounts[y.offset - offset + i]! += sign * y.bucketCounts[i]!;
  return { scale, zeroCount: x.zeroCount + sign * y.zeroCount, offset, bucketCounts };
}
