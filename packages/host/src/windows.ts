// "Since the previous collection" values (CPU and event loop utilization, event loop delay) start
// a new window at each collection. A live view polling every 2 s beside a Prometheus scraping every
// 15 s would leave Prometheus with the last 2 s of each interval. So collections come in two
// audiences, each with its own windows: ordinary collections (scrapes, exports), and peeks (a
// collection run inside `peek`, such as the live page's polls), which see the interval since the
// previous peek and leave the ordinary windows alone.

export const COLLECTIONS = 0;
export const PEEKS = 1;
export type Audience = typeof COLLECTIONS | typeof PEEKS;

/** Peeks this far apart are not one live view: the next one starts afresh from the collections' window. */
export const PEEKS_EXPIRE_MS = 60_000;

/** Shared by the interval metrics of one startHostMetrics(). */
export interface Windows {
  /** Whose collection the callbacks are running for. */
  readonly audience: Audience;
  /**
   * During a peek: whether it is the first (none in the last PEEKS_EXPIRE_MS). It then reports the
   * collections' interval as it stands, and its own interval starts.
   */
  readonly firstPeek: boolean;
  /** Whether no peek came for PEEKS_EXPIRE_MS: what peeks keep can be let go. */
  peeksExpired(): boolean;
}

/**
 * Runs `collect` (a reader's collect(), called synchronously) as a peek: a collection that only
 * looks, whose interval values leave the ordinary collections' intervals whole. mon's one type of
 * a peek (@mon/register imports it from here); @mon/prometheus, which does not depend on
 * @mon/host, declares the same function type once for itself (its reader.ts says why).
 */
export type Peek = <T>(collect: () => T) => T;

export interface WindowControl extends Windows {
  peek: Peek;
}

export function createWindows(): WindowControl {
  let depth = 0;
  let lastPeekAt = -Infinity;
  let firstPeek = false;
  const expired = () => performance.now() - lastPeekAt > PEEKS_EXPIRE_MS;
  return {
    get audience() {
      return depth > 0 ? PEEKS : COLLECTIONS;
    },
    get firstPeek() {
      return depth > 0 && firstPeek;
    },
    peeksExpired: expired,
    // sdk-metrics runs the observable callbacks synchronously inside collect() (MetricReader.collect
    // -> MeterSharedState.collect -> ObservableRegistry.observe), so marking the duration of the
    // call covers them; a collection running concurrently awaits its own callbacks outside this call.
    peek(collect) {
      if (depth === 0) {
        firstPeek = expired();
        lastPeekAt = performance.now();
      }
      depth++;
      try {
        return collect();
      } finally {
        depth--;
      }
    },
  };
}

/**
 * One baseline per audience for a value measured "since the previous collection" (CPU times, event
 * loop utilization): a peek measures from and moves the peeks' baseline, never the collections'.
 */
export interface Baselines<B> {
  /**
   * What the running collection measures from: its audience's baseline, except that a first peek
   * starts from the collections' baseline (it reports their interval as it stands).
   */
  readonly before: B | undefined;
  /** Makes `value` the running collection's audience's baseline; the other audience's stays. */
  set(value: B): void;
}

/** Baselines for the collections of `windows`; `initial` is the collections' first one (e.g. at start). */
export function createBaselines<B>(windows: Windows, initial?: B): Baselines<B> {
  const baselines: Array<B | undefined> = [initial, undefined]; // indexed by Audience
  return {
    get before() {
      return baselines[windows.firstPeek ? COLLECTIONS : windows.audience];
    },
    set(value) {
      baselines[windows.audience] = value;
    },
  };
}
