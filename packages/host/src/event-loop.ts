// Event loop delay (min, max, mean, stddev, p50, p90, p99 over the interval since the previous
// collection) and event loop utilization.
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { BatchObservableCallback, BatchObservableResult, Meter } from '@opentelemetry/api';
import type { Report } from './report.js';
import { COLLECTIONS, createBaselines, PEEKS, type Audience, type Windows } from './windows.js';

export const EVENT_LOOP_METRICS = [
  'nodejs.eventloop.delay.min',
  'nodejs.eventloop.delay.max',
  'nodejs.eventloop.delay.mean',
  'nodejs.eventloop.delay.stddev',
  'nodejs.eventloop.delay.p50',
  'nodejs.eventloop.delay.p90',
  'nodejs.eventloop.delay.p99',
  'nodejs.eventloop.utilization',
  'nodejs.eventloop.time',
] as const;

// Node samples the loop with a timer that repeats every RESOLUTION_MS, and records the time
// between two firings, so an idle loop reads ~10 ms. The resolution is subtracted so that an idle
// loop reads ~0 and a blocked one the time it was blocked. (prom-client and
// instrumentation-runtime-node report the raw value; theirs are higher by exactly this much.)
// The sampling timer is unref'd inside Node: it keeps no process alive.
const RESOLUTION_MS = 10;
const RESOLUTION_NS = RESOLUTION_MS * 1e6;
const PROBE_JITTER_NS = 1e6;
const ACTIVE = Object.freeze({ 'nodejs.eventloop.state': 'active' });
const IDLE = Object.freeze({ 'nodejs.eventloop.state': 'idle' });
const FIX = "Leave 'runtime' out of MON_METRICS (or the groups option) to stop collecting it.";

const NO_DELAY: readonly number[] = [0, 0, 0, 0, 0, 0, 0];

const lateness = (ns: number) => Math.max(0, ns - RESOLUTION_NS);

export function startEventLoopMetrics(meter: Meter, report: Report, windows: Windows): () => void {
  const gauge = (stat: string, description: string) =>
    meter.createObservableGauge(`nodejs.eventloop.delay.${stat}`, { unit: 's', description: `${description} since the previous collection.` });
  const delay = {
    min: gauge('min', 'Smallest event loop delay'),
    max: gauge('max', 'Largest event loop delay'),
    mean: gauge('mean', 'Mean event loop delay'),
    stddev: gauge('stddev', 'Standard deviation of the event loop delay'),
    p50: gauge('p50', 'Median event loop delay'),
    p90: gauge('p90', '90th percentile of the event loop delay'),
    p99: gauge('p99', '99th percentile of the event loop delay'),
  };
  const delays = Object.values(delay);
  const utilization = meter.createObservableGauge('nodejs.eventloop.utilization', {
    unit: '1',
    description: 'Share of time the event loop was busy since the previous collection.',
  });
  const time = meter.createObservableCounter('nodejs.eventloop.time', {
    unit: 's',
    description: 'Seconds the event loop has spent active and idle.',
  });

  // One baseline per audience (windows.ts).
  const previous = createBaselines<EventLoopUtilization>(windows, performance.eventLoopUtilization());

  // histogram.reset() also forgets when the sampler last fired, so the first delay after each
  // reset is never recorded: a block that starts right after a collection (the scrape's own
  // serialization, a request handled next) would vanish from the metrics. A one-shot probe armed
  // at each reset measures that delay instead; it fires in the same timers phase as the sampler's
  // lost tick, so it sees the same block (minus at most one resolution). Its value joins the next
  // interval as one more sample when it exceeds what the histogram saw.
  // One window per audience: ordinary collections, and peeks (started at the first peek).
  interface DelayWindow {
    histogram: IntervalHistogram;
    probe: NodeJS.Timeout | undefined;
    /** The probe's lateness (ns) since the window began. */
    missed: number;
  }
  const openWindow = (): DelayWindow => {
    const w: DelayWindow = { histogram: monitorEventLoopDelay({ resolution: RESOLUTION_MS }), probe: undefined, missed: 0 };
    w.histogram.enable();
    armProbe(w); // enable() starts with the same blind first tick as reset()
    return w;
  };
  const armProbe = (w: DelayWindow) => {
    if (w.probe) return; // still waiting: it already covers this reset too
    const armedAt = performance.now();
    w.probe = setTimeout(() => {
      w.probe = undefined;
      w.missed = Math.max(w.missed, (performance.now() - armedAt - RESOLUTION_MS) * 1e6);
    }, RESOLUTION_MS);
    w.probe.unref();
  };
  const windowsOf: Array<DelayWindow | undefined> = [openWindow(), undefined];

  /** The figures last observed, seconds, in the order of `delays`. */
  let last: number[] | undefined;
  /** Observes the delay figures of `h`, with `extra` (the probe's, 0 for none) as one more sample. */
  const observeDelays = (result: BatchObservableResult, h: IntervalHistogram, extra: number): void => {
    const n = h.count;
    const seen = n > 0 ? lateness(h.max) : 0;
    // Under 1 ms (setTimeout's granularity) the probe only adds timer jitter. It once had to be
    // a whole resolution late, which hid blocks of 10-20 ms right after a collection: they make
    // the probe 0-10 ms late, and the sampler's tick that would have seen them is the blind one.
    const x = extra > PROBE_JITTER_NS && extra > seen ? extra : undefined;
    // Nothing sampled since the previous collection (two collections within one resolution: two
    // readers, an OTLP flush on shutdown right after a scrape, an HA pair of Prometheus servers)
    // or since the window opened: the histogram's min would be its 2^63 sentinel. Repeat the last
    // figures instead (zeros before any: nothing was late by a whole resolution), so the series
    // never vanish from one reader because another collected a moment before.
    if (n === 0 && x === undefined) {
      const figures = last ?? NO_DELAY;
      for (let i = 0; i < delays.length; i++) result.observe(delays[i]!, figures[i]!);
      return;
    }
    const mu = n > 0 ? lateness(h.mean) : 0;
    // stddev is the costly read (~175 µs: HdrHistogram walks all its buckets) and the largest
    // item of a collection; still far inside the 5 ms budget.
    const sigma = n > 0 ? h.stddev : 0;
    const percentile = (q: number): number => {
      if (x === undefined) return lateness(h.percentile(q));
      // x is the largest of n + 1 samples: it is the q-th percentile when it holds the rank.
      if (n === 0 || (q / 100) * (n + 1) > n) return x;
      return lateness(h.percentile(Math.min(100, (q * (n + 1)) / n)));
    };
    let mean = mu;
    let stddev = sigma;
    if (x !== undefined) {
      mean = (mu * n + x) / (n + 1);
      stddev = Math.sqrt(Math.max(0, (n * (sigma * sigma + mu * mu) + x * x) / (n + 1) - mean * mean));
    }
    // In the order of `delays`.
    last = [n > 0 ? lateness(h.min) : x!, x ?? seen, mean, stddev, percentile(50), percentile(90), percentile(99)].map((ns) => ns / 1e9);
    for (let i = 0; i < delays.length; i++) result.observe(delays[i]!, last[i]!);
  };

  const closeWindow = (audience: Audience) => {
    const w = windowsOf[audience];
    w?.histogram.disable();
    clearTimeout(w?.probe);
    windowsOf[audience] = undefined;
  };
  const delayCallback: BatchObservableCallback = (result) => {
    const audience = windows.audience;
    if (audience === COLLECTIONS && windows.peeksExpired()) closeWindow(PEEKS); // the page was closed
    // A first peek reports the collections' window as it stands, without ending it; its own starts.
    const first = audience === PEEKS && (windowsOf[PEEKS] === undefined || windows.firstPeek);
    const w = windowsOf[first ? COLLECTIONS : audience]!;
    try {
      observeDelays(result, w.histogram, w.missed);
      if (!first) w.missed = 0;
    } catch (error) {
      report('event loop delay', error, FIX);
    } finally {
      if (first) {
        closeWindow(PEEKS);
        windowsOf[PEEKS] = openWindow();
      } else {
        // Reset so the next collection covers only its own interval, not the process's lifetime.
        w.histogram.reset();
        armProbe(w);
      }
    }
  };

  const utilizationCallback: BatchObservableCallback = (result) => {
    try {
      const current = performance.eventLoopUtilization();
      const interval = performance.eventLoopUtilization(current, previous.before!);
      if (interval.idle + interval.active > 0) result.observe(utilization, interval.utilization);
      result.observe(time, current.active / 1000, ACTIVE);
      result.observe(time, current.idle / 1000, IDLE);
      previous.set(current);
    } catch (error) {
      report('event loop utilization', error, FIX);
    }
  };

  meter.addBatchObservableCallback(delayCallback, delays);
  meter.addBatchObservableCallback(utilizationCallback, [utilization, time]);
  return () => {
    closeWindow(COLLECTIONS);
    closeWindow(PEEKS);
    meter.removeBatchObservableCallback(delayCallback, delays);
    meter.removeBatchObservableCallback(utilizationCallback, [utilization, time]);
  };
}
