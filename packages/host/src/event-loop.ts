// Event loop delay (min, max, mean, stddev, p50, p90, p99 over the window, windows.ts), the same
// delay as a cumulative histogram, and event loop utilization (over the window) and time.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { BatchObservableCallback, Meter } from '@opentelemetry/api';
import { DELAY_BUCKETS, DELAY_HISTOGRAM, type DelayRecorder } from './event-loop-delay.js';
import { startDelaySampler } from './event-loop-sampler.js';
import type { Report } from './report.js';
import type { Windows } from './windows.js';

export const EVENT_LOOP_METRICS = [
  'nodejs.eventloop.delay',
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

const ACTIVE = Object.freeze({ 'nodejs.eventloop.state': 'active' });
const IDLE = Object.freeze({ 'nodejs.eventloop.state': 'idle' });
const FIX = "Leave 'runtime' out of MON_METRICS (or the groups option) to stop collecting it.";

/**
 * `delayHistogram`: where the samples go instead of an SDK histogram (@mon/register's recorder,
 * which adds native buckets and is read by its own MetricProducer).
 */
export function startEventLoopMetrics(meter: Meter, report: Report, windows: Windows, delayHistogram?: DelayRecorder): () => void {
  const gauge = (stat: string, description: string) =>
    meter.createObservableGauge(`nodejs.eventloop.delay.${stat}`, { unit: 's', description: `${description} over the last 60 s.` });
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
  // A synchronous histogram: every sample is an event to record, so the series is cumulative and
  // PromQL picks the window and the percentile, summed over processes.
  const recorder = delayHistogram ?? sdkHistogram(meter);
  const utilization = meter.createObservableGauge('nodejs.eventloop.utilization', {
    unit: '1',
    description: 'Share of time the event loop was busy over the last 60 s.',
  });
  const time = meter.createObservableCounter('nodejs.eventloop.time', {
    unit: 's',
    description: 'Seconds the event loop has spent active and idle.',
  });

  const sampler = startDelaySampler(recorder, windows.windowMs, windows.slotMs);
  const loop = windows.readings<EventLoopUtilization>(() => performance.eventLoopUtilization());

  const delayCallback: BatchObservableCallback = (result) => {
    try {
      const s = sampler.stats(performance.now(), windows.spanMs);
      // In the order of `delays`; µs -> s.
      const figures = [s.min, s.max, s.mean, s.stddev, s.percentile(50), s.percentile(90), s.percentile(99)];
      for (let i = 0; i < delays.length; i++) result.observe(delays[i]!, figures[i]! / 1e6);
    } catch (error) {
      report('event loop delay', error, FIX);
    }
  };

  const utilizationCallback: BatchObservableCallback = (result) => {
    try {
      const current = performance.eventLoopUtilization();
      const base = loop.base(performance.now(), windows.spanMs);
      const window = base === undefined ? current : performance.eventLoopUtilization(current, base.value);
      if (window.idle + window.active > 0) result.observe(utilization, window.utilization);
      result.observe(time, current.active / 1000, ACTIVE);
      result.observe(time, current.idle / 1000, IDLE);
    } catch (error) {
      report('event loop utilization', error, FIX);
    }
  };

  meter.addBatchObservableCallback(delayCallback, delays);
  meter.addBatchObservableCallback(utilizationCallback, [utilization, time]);
  return () => {
    sampler.stop();
    loop.stop();
    meter.removeBatchObservableCallback(delayCallback, delays);
    meter.removeBatchObservableCallback(utilizationCallback, [utilization, time]);
  };
}

/** The histogram as an SDK instrument, when @mon/host is used alone: classic buckets only. */
function sdkHistogram(meter: Meter): DelayRecorder {
  const histogram = meter.createHistogram(DELAY_HISTOGRAM.name, {
    unit: DELAY_HISTOGRAM.unit,
    description: DELAY_HISTOGRAM.description,
    advice: { explicitBucketBoundaries: DELAY_BUCKETS as number[] },
  });
  return {
    record(micros, zeros) {
      histogram.record(micros / 1e6);
      for (let i = 0; i < zeros; i++) histogram.record(0);
    },
  };
}
