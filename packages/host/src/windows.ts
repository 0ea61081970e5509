// Figures over a window of time (event loop delay statistics, event loop and CPU utilization)
// cover windows fixed in time, never "since the previous collection": a collection only reads, so
// no client can shrink another's window. Two Prometheus servers of an HA pair, a second team's
// scraper, a curl, or a live page polling every 2 s all read the same figures at the same moment,
// and a 300 ms stall shows in the max delay of every scraper whose interval covers it.
//
// The window is the last WINDOW_MS (60 s) up to the collection, kept as slots of SLOT_MS (5 s) on
// the process's monotonic clock: a collection reads the current slot and the 12 before it, so it
// covers between 60 and 65 s, and any scrape interval up to 60 s (Prometheus' default, the OTLP
// export's default) misses nothing. Peeks (the live page's polls and history) read a short window,
// the current slot and the one before (5-10 s), so the page follows what happens now.
//
// Cumulative values (CPU time, event loop time) are read at each slot boundary by one unref'd
// timer (every 5 s, a few tens of µs); a ratio is the difference between now and the reading
// from just before the window. Event loop delay samples go straight into the slots
// (event-loop-sampler.ts).

/** How far back an ordinary collection's window figures reach (at least). */
export const WINDOW_MS = 60_000;
/** The grain of the windows. */
export const SLOT_MS = 5_000;
/** How far back a peek's window figures reach (at least). */
export const PEEK_WINDOW_MS = SLOT_MS;

/**
 * Runs `collect` (a reader's collect(), called synchronously) as a peek: a collection that reads
 * the short window. mon's one type of a peek (@mon/register imports it from here); @mon/prometheus,
 * which does not depend on @mon/host, declares the same function type once for itself (its
 * reader.ts says why).
 */
export type Peek = <T>(collect: () => T) => T;

/** A cumulative value read at every slot boundary. */
export interface Readings<T> {
  /** The reading the running collection's window starts from: the newest at least its span old, else the oldest. */
  base(now: number, spanMs: number): { at: number; value: T } | undefined;
  stop(): void;
}

/** Shared by the window figures of one startHostMetrics(). */
export interface Windows {
  readonly windowMs: number;
  readonly slotMs: number;
  /** How far back the running collection's figures reach: WINDOW_MS, or PEEK_WINDOW_MS in a peek. */
  readonly spanMs: number;
  /** Reads `read` now and at every slot boundary from now on (a reading that throws is skipped). */
  readings<T>(read: () => T): Readings<T>;
}

export interface WindowControl extends Windows {
  peek: Peek;
  stop(): void;
}

/** The windows' lengths; tests shorten them. */
export interface WindowOptions {
  windowMs?: number;
  slotMs?: number;
}

export function createWindows({ windowMs = WINDOW_MS, slotMs = SLOT_MS }: WindowOptions = {}): WindowControl {
  // Readings kept: enough for the newest one windowMs old to be there.
  const KEPT = Math.ceil(windowMs / slotMs) + 2;
  let depth = 0;
  const readers = new Set<() => void>();
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    windowMs,
    slotMs,
    get spanMs() {
      // A peek's window is one slot (PEEK_WINDOW_MS at the default lengths).
      return depth > 0 ? slotMs : windowMs;
    },
    readings<T>(read: () => T): Readings<T> {
      const kept: Array<{ at: number; value: T }> = [];
      const take = () => {
        let value: T;
        try {
          value = read();
        } catch {
          return; // the collection reports it: it reads the same source
        }
        kept.push({ at: performance.now(), value });
        if (kept.length > KEPT) kept.shift();
      };
      take();
      readers.add(take);
      if (timer === undefined) {
        timer = setInterval(() => {
          for (const r of readers) r();
        }, slotMs);
        // unref: a metrics timer must never keep the app alive.
        timer.unref();
      }
      return {
        base(now, spanMs) {
          for (let i = kept.length - 1; i >= 0; i--) if (kept[i]!.at <= now - spanMs) return kept[i]!;
          return kept[0];
        },
        stop() {
          readers.delete(take);
        },
      };
    },
    // sdk-metrics runs the observable callbacks synchronously inside collect() (MetricReader.collect
    // -> MeterSharedState.collect -> ObservableRegistry.observe), so marking the duration of the
    // call covers them; a collection running concurrently awaits its own callbacks outside this call.
    peek(collect) {
      depth++;
      try {
        return collect();
      } finally {
        depth--;
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      readers.clear();
    },
  };
}
