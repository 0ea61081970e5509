// The event-loop delay histogram's definition, in a module (and subpath export) of its own:
// @mon/register records the same histogram with native buckets beside the classic ones
// (its event-loop-delay.ts) and imports this without loading the metric sources.

/** The histogram's instrument: every sample of the delay sampler (event-loop-sampler.ts). */
export const DELAY_HISTOGRAM = {
  name: 'nodejs.eventloop.delay',
  unit: 's',
  description: 'Event loop delay: how late a timer fired, sampled every 10 ms (while the loop idles every 500 ms, counted as 50 samples).',
} as const;

/**
 * Its classic buckets: powers of two of a millisecond, 0.5 ms to 16 s. An idle loop's samples
 * (0-1 ms, the timer's own granularity) land in the first two, and every doubling of a stall moves
 * it one bucket. Classic buckets, so the cluster's primary sums its workers' (cluster/merge.ts)
 * and any PromQL (histogram_quantile, the share above a bound) works on every Prometheus.
 */
export const DELAY_BUCKETS: readonly number[] = Object.freeze([0.0005, ...Array.from({ length: 15 }, (_, k) => 0.001 * 2 ** k)]);

/** Where the sampler's samples go instead of an SDK histogram (startHostMetrics' `delayHistogram`). */
export interface DelayRecorder {
  /**
   * One sample of `micros` µs (>= 0), and `zeros` samples of 0 beside it (the 10 ms steps an idle
   * tick stands for). Runs at every tick of the sampler: every 10 ms while the loop works.
   */
  record(micros: number, zeros: number): void;
}
