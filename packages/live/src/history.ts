// The live page's recent past, kept in the process: a person who opens the page after an incident
// sees the last minutes, not flat lines that start now. Every STEP_MS an unref'd timer takes a
// peek collection (the same look the page's polls take, which leaves Prometheus' intervals whole),
// turns it into the page's figures with the page's own code (client/figures.ts) and keeps them for
// SPAN_MS. What is kept is bounded: a fixed number of points, and of the last collection only the
// series the figures read.
import { parseExposition, type Sample } from './client/exposition.js';
import { computePoint, SERIES, type Point, type Snapshot } from './client/figures.js';

/** How often the history samples. 10 s: 90 points for 15 minutes, one peek every 10 s (test/bench/live-history.mjs). */
export const HISTORY_STEP_MS = 10_000;
/** How far back the history reaches. */
export const HISTORY_SPAN_MS = 15 * 60_000;

export interface LiveHistoryOptions {
  /**
   * One peek collection as Prometheus text (0.0.4), e.g. `reader.collectText(undefined, { peek: true })`
   * of @mon/prometheus. A rejection skips that point.
   */
  collect: () => Promise<string>;
  /** Default HISTORY_STEP_MS. */
  stepMs?: number;
  /** Default HISTORY_SPAN_MS. */
  spanMs?: number;
  /** Called with a failed sample's error (the point is skipped); default: nothing. */
  onError?: (error: unknown) => void;
}

/** A history point as the page gets it: `age` ms before the answer, in place of the process's clock. */
export type AgedPoint = Omit<Point, 'time'> & { age: number };

export interface LiveHistory {
  /** Starts the timer (unref'd); idempotent. Nothing is sampled before. */
  start(): void;
  stop(): void;
  /** Takes one sample now (the timer's job; exported for tests). */
  sample(): Promise<void>;
  /** The kept points, oldest first. */
  points(): AgedPoint[];
  /** How many points it keeps at most. */
  readonly capacity: number;
}

// Counters the figures take increases of: the only series of the previous collection they read.
const COUNTERS = new Set<string>([
  SERIES.requests,
  `${SERIES.duration}_bucket`,
  SERIES.systemCpuTime,
  SERIES.processCpuTime,
  SERIES.loopTime,
  `${SERIES.gcDuration}_sum`,
]);

export function createLiveHistory(options: LiveHistoryOptions): LiveHistory {
  const stepMs = options.stepMs ?? HISTORY_STEP_MS;
  const spanMs = options.spanMs ?? HISTORY_SPAN_MS;
  const capacity = Math.ceil(spanMs / stepMs) + 1;
  const kept: Point[] = [];
  let previous: Snapshot | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let sampling = false;

  const sample = async (): Promise<void> => {
    // A collection slower than a step (a hung callback) is not piled up on.
    if (sampling) return;
    sampling = true;
    try {
      const text = await options.collect();
      // Date.now(): the page gets ages, so only differences of this clock matter.
      const current: Snapshot = { time: Date.now(), samples: parseExposition(text) };
      kept.push(computePoint(current, previous, previous));
      if (kept.length > capacity) kept.shift();
      previous = { time: current.time, samples: countersOnly(current.samples) };
    } catch (error) {
      options.onError?.(error);
    } finally {
      sampling = false;
    }
  };

  return {
    capacity,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void sample(), stepMs);
      // unref: the page's history must never keep the app alive.
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    sample,
    points() {
      const now = Date.now();
      const from = now - spanMs;
      return kept.filter((point) => point.time >= from).map(({ time, ...figures }) => ({ ...figures, age: now - time }));
    },
  };
}

function countersOnly(samples: ReadonlyMap<string, readonly Sample[]>): Map<string, readonly Sample[]> {
  const kept = new Map<string, readonly Sample[]>();
  for (const name of COUNTERS) {
    const list = samples.get(name);
    if (list !== undefined) kept.set(name, list);
  }
  return kept;
}
