// The event loop delay sampler: a timer that measures how late it fires, with the statistics of
// its samples kept per slot of the fixed windows (windows.ts).
//
// Node's monitorEventLoopDelay samples every 10 ms whether the loop works or not, and an idle
// process pays for the 100 wake-ups a second: 3 of the 3.7 ms of CPU per second an idle hello app
// spent under mon on Node 24 (test/bench/idle.mjs). An idle loop is delayed by nothing, so this
// sampler fires every BUSY_PERIOD_MS only while the loop works (a tenth of the time or more), and
// every IDLE_PERIOD_MS once it has worked less for IDLE_AFTER_MS. A stall that begins while it is
// idle still shows: the next tick finds the loop's active time since the previous one
// (performance.eventLoopUtilization) grown by the stall. Divided by the turns of the loop that ran
// (uvMetricsInfo.loopCount, not counting the tick's own), it is at most the longest turn, and
// exactly it when the stall was the only work (an idle app's cron job, a lone request): that is
// the tick's sample (a 20 ms stall reads 20 ms; beside one other turn, 10), and a stall of a tenth of the period or more
// makes the sampler busy again.
import { performance } from 'node:perf_hooks';
import type { DelayRecorder } from './event-loop-delay.js';

/** The sampling period while the loop works, as monitorEventLoopDelay's default resolution. */
export const BUSY_PERIOD_MS = 10;
/** The sampling period once the loop has been idle for IDLE_AFTER_MS. */
export const IDLE_PERIOD_MS = 500;
export const IDLE_AFTER_MS = 1000;
const IDLE_WEIGHT = IDLE_PERIOD_MS / BUSY_PERIOD_MS;
/** Active time between two idle ticks above this was spent on something: a stall, maybe (the tick itself takes tens of µs). */
const WORK_MS = 1;
/** The share of the time since the previous tick that the loop must have worked for the sampler to be busy. */
const BUSY_SHARE = 0.1;

// Samples are counted in exponential buckets, SUB per power of two of µs (4.4 % wide: a
// percentile is within 2.2 % of the sample's value), up to 2^36 µs (19 hours).
const SUB = 16;
const BUCKETS = 1 + SUB * 36;

const bucketOf = (micros: number): number => (micros < 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(micros) * SUB)));
/** A value of bucket i: its geometric middle (µs). */
const valueOf = (i: number): number => (i === 0 ? 0 : 2 ** ((i - 0.5) / SUB));

class Slot {
  key = -1;
  count = 0;
  sum = 0;
  sumSquares = 0;
  min = Infinity;
  max = 0;
  /** Lowest and highest bucket in use. */
  lo = BUCKETS;
  hi = -1;
  readonly counts = new Uint32Array(BUCKETS);

  reset(key: number): void {
    if (this.hi >= 0) this.counts.fill(0, this.lo, this.hi + 1);
    this.key = key;
    this.count = this.sum = this.sumSquares = this.max = 0;
    this.min = Infinity;
    this.lo = BUCKETS;
    this.hi = -1;
  }
}

/** A window's delay statistics, in µs. */
export interface DelayStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  /** q in [0, 100]. */
  percentile(q: number): number;
}

export interface DelaySampler {
  /** The sampling period now: BUSY_PERIOD_MS or IDLE_PERIOD_MS. */
  readonly periodMs: number;
  /** The statistics of the samples in the slots of the last `spanMs` up to `now` (performance.now()). */
  stats(now: number, spanMs: number): DelayStats;
  stop(): void;
}

/** Starts sampling; `histogram` gets every sample (the cumulative histogram). */
export function startDelaySampler(histogram: DelayRecorder, windowMs: number, slotMs: number): DelaySampler {
  // The window's slots and the one being filled.
  const SLOTS = Math.ceil(windowMs / slotMs) + 1;
  const slots = Array.from({ length: SLOTS }, () => new Slot());
  /** Records a sample and `idle` samples of 0: the 10 ms steps an idle tick stands for. */
  const record = (now: number, micros: number, idle: number): void => {
    const key = Math.floor(now / slotMs);
    const slot = slots[key % SLOTS]!;
    if (slot.key !== key) slot.reset(key);
    const b = bucketOf(micros);
    slot.counts[b]!++;
    if (b < slot.lo) slot.lo = b;
    if (b > slot.hi) slot.hi = b;
    slot.count++;
    slot.sum += micros;
    slot.sumSquares += micros * micros;
    if (micros < slot.min) slot.min = micros;
    if (micros > slot.max) slot.max = micros;
    // The idle samples of 0 in one call: a recorder adds them as one count.
    histogram.record(micros, idle);
    if (idle > 0) {
      slot.counts[0]! += idle;
      slot.lo = 0;
      slot.count += idle;
      slot.min = 0;
    }
  };

  // uvMetricsInfo: Node >= 20.18 and 22.8; without it, an idle tick's active time is never a sample.
  const turns = (): number | undefined => (performance.nodeTiming as { uvMetricsInfo?: { loopCount: number } }).uvMetricsInfo?.loopCount;
  let period = BUSY_PERIOD_MS;
  let due = performance.now() + period;
  let lastActive = performance.eventLoopUtilization().active;
  let lastTick = performance.now();
  let lastTurns = turns();
  let lastWork = performance.now();
  let timer: NodeJS.Timeout;

  const tick = (): void => {
    const now = performance.now();
    const active = performance.eventLoopUtilization().active;
    const worked = active - lastActive;
    // Busy: the loop worked a tenth of the time since the previous tick. Not any work at all: a
    // GC, a timer of the app's, a request now and then, or a tick preempted on a loaded machine
    // (active time is wall-clock time) would each wake the sampler up for a second of 100 ticks.
    const busy = worked > BUSY_SHARE * (now - lastTick);
    lastTick = now;
    let sample = Math.max(0, now - due);
    let next = period;
    if (period === IDLE_PERIOD_MS) {
      const turnsNow = turns();
      // This tick's own turn is one of those counted; the others' mean is at most the longest.
      if (worked > WORK_MS && turnsNow !== undefined && lastTurns !== undefined) sample = Math.max(sample, worked / Math.max(1, turnsNow - lastTurns - 1));
      if (busy) {
        next = BUSY_PERIOD_MS;
        lastWork = now;
      }
      lastTurns = turnsNow;
    } else if (busy) {
      lastWork = now;
    } else if (now - lastWork >= IDLE_AFTER_MS) {
      next = IDLE_PERIOD_MS;
      lastTurns = turns();
    }
    lastActive = active;
    // An idle tick stands for the IDLE_PERIOD_MS / BUSY_PERIOD_MS samples the busy sampler would
    // have taken, all but one of them on an idle loop: counted as such, so that percentiles weigh
    // time the same in both modes (else one late idle tick among 4 a second would be the p99).
    record(now, sample * 1000, period === IDLE_PERIOD_MS ? IDLE_WEIGHT - 1 : 0);
    if (next !== period) {
      period = next;
      timer = setTimeout(tick, period);
      timer.unref();
    } else {
      timer.refresh();
    }
    due = performance.now() + period;
  };
  // unref: the sampler must never keep the app alive.
  timer = setTimeout(tick, period);
  timer.unref();

  const merged = new Float64Array(BUCKETS);
  return {
    get periodMs() {
      return period;
    },
    stats(now, spanMs) {
      // One scratch for the merged buckets: a collection reads its percentiles before the next one merges.
      merged.fill(0);
      const newest = Math.floor(now / slotMs);
      const oldest = newest - Math.ceil(spanMs / slotMs);
      let count = 0;
      let sum = 0;
      let sumSquares = 0;
      let min = Infinity;
      let max = 0;
      let lo = BUCKETS;
      let hi = -1;
      for (const slot of slots) {
        if (slot.key < oldest || slot.key > newest || slot.count === 0) continue;
        count += slot.count;
        sum += slot.sum;
        sumSquares += slot.sumSquares;
        min = Math.min(min, slot.min);
        max = Math.max(max, slot.max);
        for (let i = slot.lo; i <= slot.hi; i++) merged[i]! += slot.counts[i]!;
        lo = Math.min(lo, slot.lo);
        hi = Math.max(hi, slot.hi);
      }
      const mean = count > 0 ? sum / count : 0;
      return {
        count,
        min: count > 0 ? min : 0,
        max,
        mean,
        stddev: count > 0 ? Math.sqrt(Math.max(0, sumSquares / count - mean * mean)) : 0,
        percentile(q) {
          if (count === 0) return 0;
          const rank = Math.max(1, Math.ceil((q / 100) * count));
          let seen = 0;
          for (let i = lo; i <= hi; i++) {
            seen += merged[i]!;
            if (seen >= rank) return Math.min(max, Math.max(min, valueOf(i)));
          }
          return max;
        },
      };
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
