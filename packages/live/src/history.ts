// The live page's recent past, kept in the process: a person who opens the page after an incident
// sees the last minutes, not flat lines that start now. An unref'd timer takes a collection, turns
// it into the page's figures with the page's own code (client/figures.ts) and keeps them for
// SPAN_MS. What is kept is bounded: a fixed number of points, and of the last collection only the
// series the figures read.
//
// A sample costs a collection, rendering and parsing (1.5-6 ms), and an idle process pays for it
// more than for anything else mon does (test/bench/idle.mjs). So the history samples every
// HISTORY_STEP_MS (10 s, a peek: the figures of the last 5-10 s) only while someone watches (the
// page or its history was served within the span), and every HISTORY_UNWATCHED_STEP_MS (60 s) when
// nobody does, with an ordinary collection, whose window figures cover the last 60 s: the step's
// whole interval, so a stall between two samples still shows in the next one.
import { parseExposition, seriesKey, type Sample } from './client/exposition.js';
import { computePoint, PROCESS_LABEL, SERIES, type Point, type Snapshot } from './client/figures.js';

/** How often the history samples while someone watches. 10 s: 90 points for 15 minutes, one peek every 10 s. */
export const HISTORY_STEP_MS = 10_000;
/** How often the history samples while nobody watches: 15 points for 15 minutes. */
export const HISTORY_UNWATCHED_STEP_MS = 60_000;
/** How far back the history reaches. */
export const HISTORY_SPAN_MS = 15 * 60_000;

export interface LiveHistoryOptions {
  /**
   * One collection as Prometheus text (0.0.4), whole or in pieces of whole lines, a peek when
   * `peek` (while watched), e.g. `(await reader.collectTextChunks(undefined, { peek })).chunks` of
   * @mon/prometheus. A rejection skips that point.
   */
  collect: (options: { peek: boolean }) => Promise<string | Iterable<string>>;
  /** While watched; default HISTORY_STEP_MS. */
  stepMs?: number;
  /** While nobody watches; default HISTORY_UNWATCHED_STEP_MS. */
  unwatchedStepMs?: number;
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
  /** Someone looks (the page or its history was served): sample every stepMs for the next span. */
  watched(): void;
  stop(): void;
  /** Takes one sample now (the timer's job; exported for tests). */
  sample(peek?: boolean): Promise<void>;
  /** The kept points, oldest first. */
  points(): AgedPoint[];
  /** How many points it keeps at most. */
  readonly capacity: number;
}

// What the figures read (computePoint), and nothing else: the history's collections are parsed
// down to these series and labels, summed over the rest (routes, methods), so what one sample
// allocates and what is kept between samples stay small however many series the app has.
const NAMES = new Set<string>([
  SERIES.requests,
  `${SERIES.duration}_bucket`,
  SERIES.active,
  SERIES.systemCpuTime,
  SERIES.systemCpuUtilization,
  SERIES.processCpuTime,
  SERIES.processCpuUtilization,
  SERIES.rss,
  SERIES.heapUsed,
  SERIES.heapSize,
  SERIES.loopDelayP50,
  SERIES.loopDelayP99,
  SERIES.loopDelayMax,
  SERIES.loopTime,
  SERIES.loopUtilization,
  `${SERIES.gcDuration}_sum`,
  SERIES.uptime,
  SERIES.containerWorkingSet,
  SERIES.containerMemoryLimit,
  SERIES.containerCpuTime,
  SERIES.containerCpuLimit,
  SERIES.containerPeriods,
  SERIES.containerThrottledPeriods,
]);
const LABELS = new Set<string>(['http_response_status_code', 'error_type', 'le', 'cpu_mode', 'nodejs_eventloop_state', PROCESS_LABEL]);
/**
 * A sample costs its collection, rendering and parsing: at a few hundred series 1.5-6 ms, at tens
 * of thousands of histogram buckets far more. The next sample waits until the last one's time is
 * at most this share of the time since, so an app with a huge exposition gets a coarser history,
 * not a busier process.
 */
const CPU_SHARE = 0.001;

export function createLiveHistory(options: LiveHistoryOptions): LiveHistory {
  const stepMs = options.stepMs ?? HISTORY_STEP_MS;
  const unwatchedStepMs = Math.max(stepMs, options.unwatchedStepMs ?? HISTORY_UNWATCHED_STEP_MS);
  const spanMs = options.spanMs ?? HISTORY_SPAN_MS;
  const capacity = Math.ceil(spanMs / stepMs) + 1;
  const kept: Point[] = [];
  let previous: Snapshot | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;
  let sampling = false;
  let due = -Infinity;
  let watchedAt = -Infinity;
  const isWatched = () => performance.now() - watchedAt < spanMs;

  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const peek = isWatched();
      if (performance.now() >= due) void sample(peek);
      schedule();
    }, isWatched() ? stepMs : unwatchedStepMs);
    // unref: the page's history must never keep the app alive.
    timer.unref();
  };

  const sample = async (peek = true): Promise<void> => {
    // A collection slower than a step (a hung callback) is not piled up on.
    if (sampling) return;
    sampling = true;
    // A monotonic clock: the page gets ages, so only differences matter, and a wall-clock change
    // must not make a point look old or new.
    const started = performance.now();
    // The sample's own time: the collection, and the turns spent rendering and parsing, not the
    // app's work in the turns between them.
    let busy = 0;
    try {
      const text = await options.collect({ peek });
      busy = performance.now() - started;
      const parsed = await parseInTurns(typeof text === 'string' ? [text] : text);
      busy += parsed.busyMs;
      const current: Snapshot = { time: performance.now(), samples: parsed.samples };
      kept.push(computePoint(current, previous, previous));
      if (kept.length > capacity) kept.shift();
      previous = current;
    } catch (error) {
      options.onError?.(error);
    } finally {
      sampling = false;
      // Not after the first: it pays the code's warm-up once (20-30 ms on a loaded machine).
      if (kept.length > 1) due = started + busy / CPU_SHARE;
    }
  };

  return {
    capacity,
    start() {
      if (started) return;
      started = true;
      schedule();
    },
    watched() {
      const was = isWatched();
      watchedAt = performance.now();
      // From the long step to the short one now, not at the end of a 60 s wait.
      if (started && !was) schedule();
    },
    stop() {
      started = false;
      clearTimeout(timer);
      timer = undefined;
    },
    sample,
    points() {
      const now = performance.now();
      const from = now - spanMs;
      return kept.filter((point) => point.time >= from).map(({ time, ...figures }) => ({ ...figures, age: now - time }));
    },
  };
}

// Parsed a piece per event-loop turn (a scrape's rendering is chunked for the same reason,
// @mon/prometheus sendExposition), so a large exposition neither holds the app for long nor
// exists as one string.
const PIECE_CHARS = 64 * 1024;

async function parseInTurns(chunks: Iterable<string>): Promise<{ samples: Map<string, Sample[]>; busyMs: number }> {
  const sums = new Map<string, Map<string, Sample>>();
  let busyMs = 0;
  let turn = performance.now();
  let first = true;
  // Rendering happens as the chunks are taken (@mon/prometheus collectTextChunks): it is timed too.
  for (const chunk of chunks) {
    for (let start = 0; start < chunk.length; ) {
      if (!first) {
        busyMs += performance.now() - turn;
        await new Promise((resolve) => setImmediate(resolve));
        turn = performance.now();
      }
      first = false;
      let end = chunk.indexOf('\n', Math.min(chunk.length, start + PIECE_CHARS));
      if (end === -1) end = chunk.length;
      const piece = parseExposition(chunk.slice(start, end), { names: NAMES, labels: LABELS });
      for (const [name, samples] of piece) {
        let byKey = sums.get(name);
        if (byKey === undefined) sums.set(name, (byKey = new Map()));
        for (const { labels, value } of samples) {
          const key = seriesKey(labels);
          const before = byKey.get(key);
          byKey.set(key, { labels: before?.labels ?? detached(labels), value: (before?.value ?? 0) + value });
        }
      }
      start = end + 1;
    }
  }
  // Keyed by the constant names: a name parsed from the text is a slice of it, and V8 would keep
  // the whole piece alive through it until the next sample.
  const samples = new Map<string, Sample[]>();
  for (const name of NAMES) {
    const byKey = sums.get(name);
    if (byKey !== undefined) samples.set(name, [...byKey.values()]);
  }
  return { samples, busyMs: busyMs + performance.now() - turn };
}

/** The labels under the constant label names, their values copied out of the text (see above). */
function detached(labels: Readonly<Record<string, string>>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const name of LABELS) {
    const value = labels[name];
    if (value !== undefined) copy[name] = value.length > 12 ? JSON.parse(JSON.stringify(value)) : value;
  }
  return copy;
}
