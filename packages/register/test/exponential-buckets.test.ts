import { describe, expect, it } from 'vitest';
import { combineSnapshots, downscaleSnapshot, ExponentialBuckets, indexAtMaxScale, MAX_BUCKETS, MAX_SCALE, type ExponentialSnapshot } from '../src/exponential-buckets.js';

/** The OpenTelemetry bucket of `seconds` at `scale`: (2^(i/2^s), 2^((i+1)/2^s)]. */
const bucketOf = (seconds: number, scale: number): number => Math.ceil(Math.log2(seconds) * 2 ** scale) - 1;
const lowerBound = (index: number, scale: number): number => 2 ** (index / 2 ** scale);

function total(s: ExponentialSnapshot): number {
  return s.zeroCount + s.bucketCounts.reduce((a, b) => a + b, 0);
}

describe('indexAtMaxScale', () => {
  it('finds the bucket (2^(i/256), 2^((i+1)/256)] of any value from its bits', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 100_000; n++) {
      const value = 2 ** (random() * 60 - 30);
      const i = indexAtMaxScale(value);
      expect(value > 2 ** (i / 256) && value <= 2 ** ((i + 1) / 256), `${value} -> ${i}`).toBe(true);
    }
  });

  it('puts a boundary in the bucket it closes, a power of two included', () => {
    for (const e of [-20, -1, 0, 3]) {
      for (let k = 0; k < 256; k++) {
        const boundary = 2 ** (k / 256) * 2 ** e;
        expect(indexAtMaxScale(boundary), `2^(${k}/256) * 2^${e}`).toBe(e * 256 + k - 1);
      }
    }
  });
});

describe('ExponentialBuckets', () => {
  it('starts at the finest Prometheus schema and puts each duration in its bucket', () => {
    const buckets = new ExponentialBuckets();
    buckets.recordMicros(51_000);
    buckets.recordMicros(51_000);
    buckets.recordMicros(51_100);
    const s = buckets.snapshot();
    expect(s.scale).toBe(MAX_SCALE);
    expect(s.offset).toBe(bucketOf(0.051, MAX_SCALE));
    expect(s.bucketCounts[0]).toBe(2);
    expect(s.bucketCounts[bucketOf(0.0511, MAX_SCALE) - s.offset]).toBe(1);
    expect(total(s)).toBe(3);
  });

  it('counts 0 µs in the zero bucket', () => {
    const buckets = new ExponentialBuckets();
    buckets.recordMicros(0);
    expect(buckets.snapshot()).toEqual({ scale: MAX_SCALE, zeroCount: 1, offset: 0, bucketCounts: [] });
  });

  it('lowers the scale to keep at most MAX_BUCKETS buckets, and every value stays in its bucket', () => {
    const buckets = new ExponentialBuckets();
    // 1 µs .. 100 s, in an order that widens the range on both sides.
    const values = [50_000, 1, 100_000_000, 3, 999, 7_777, 123_456, 5_000_000];
    for (const v of values) buckets.recordMicros(v);
    const s = buckets.snapshot();
    expect(s.bucketCounts.length).toBeLessThanOrEqual(MAX_BUCKETS);
    // 27 doublings in at most 160 buckets: 2^scale <= 160 / 27, so scale 2.
    expect(s.scale).toBe(2);
    expect(total(s)).toBe(values.length);
    for (const v of values) {
      const seconds = v / 1e6;
      const index = bucketOf(seconds, s.scale);
      expect(s.bucketCounts[index - s.offset], `${v} µs`).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeGreaterThan(lowerBound(index, s.scale));
      expect(seconds).toBeLessThanOrEqual(lowerBound(index + 1, s.scale) * (1 + 1e-12));
    }
  });

  it('keeps memory bounded over many random durations', () => {
    const buckets = new ExponentialBuckets();
    let seed = 1;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 100_000; i++) buckets.recordMicros(Math.round(2 ** (random() * 34)));
    expect(buckets.counts.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(total(buckets.snapshot())).toBe(100_000);
  });
});

describe('snapshots', () => {
  const a: ExponentialSnapshot = { scale: 3, zeroCount: 1, offset: -5, bucketCounts: [1, 2, 3] };

  it('downscale merges bucket pairs: bucket i goes to i >> 1', () => {
    // -5 >> 1 = -3, -4 >> 1 = -2, -3 >> 1 = -2
    expect(downscaleSnapshot(a, 2)).toEqual({ scale: 2, zeroCount: 1, offset: -3, bucketCounts: [1, 5] });
  });

  it('adds at the coarser scale, and subtracts what was sent before', () => {
    const b: ExponentialSnapshot = { scale: 2, zeroCount: 2, offset: 0, bucketCounts: [4] };
    const sum = combineSnapshots(a, b, 1);
    expect(sum).toEqual({ scale: 2, zeroCount: 3, offset: -3, bucketCounts: [1, 5, 0, 4] });
    expect(combineSnapshots(sum, b, -1)).toEqual({ scale: 2, zeroCount: 1, offset: -3, bucketCounts: [1, 5, 0, 0] });
  });

  it('lowers the scale when the sum would need more than MAX_BUCKETS buckets', () => {
    const low: ExponentialSnapshot = { scale: 8, zeroCount: 0, offset: -1000, bucketCounts: [1] };
    const high: ExponentialSnapshot = { scale: 8, zeroCount: 0, offset: 1000, bucketCounts: [1] };
    const sum = combineSnapshots(low, high, 1);
    expect(sum.bucketCounts.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(sum.scale).toBe(4);
    expect(total(sum)).toBe(2);
  });

  it('ends for any input: a scale that is not a number once spun its loop forever', () => {
    const bad = { scale: 'x' as unknown as number, zeroCount: 0, offset: 0, bucketCounts: [1, 1] };
    const good: ExponentialSnapshot = { scale: 8, zeroCount: 0, offset: 100_000, bucketCounts: [1] };
    expect(() => combineSnapshots(bad, good, 1)).not.toThrow();
  });
});
