// The event loop delay histogram (nodejs.eventloop.delay), recorded with native buckets beside its
// classic ones, as the HTTP server durations are: @mon/host's sampler (event-loop-sampler.ts) hands
// this recorder every sample in place of its SDK histogram. Classic buckets (DELAY_BUCKETS) for
// every Prometheus and the text exposition; the same samples in base-2 exponential buckets
// (exponential-buckets.ts) for the protobuf exposition (a native histogram), OTLP's exponential
// aggregation and the cluster's sums (cluster/exponential.ts, merge.ts).
//
// Read by a MetricProducer per reader at collections only, as an SDK instrument is, never pushed
// between them: it changes at every sample, so a cluster worker's pushes (cluster/worker.ts) and a
// pm2 instance's carry-over writes, which back off while their producers stay the same, never would.
//
// record() runs at every tick of the sampler (every 10 ms while the loop works): a few number
// writes, no allocation, where the SDK histogram hashed its (empty) attribute set per call and was
// called once per zero of an idle tick, 50 calls for one tick (test/bench/event-loop-record.mjs).
import { ValueType, type HrTime } from '@opentelemetry/api';
import type { CollectionResult, ExponentialHistogram, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import type { HistogramWithExponential } from '@mon/prometheus';
import { DELAY_BUCKETS, DELAY_HISTOGRAM, type DelayRecorder } from '@mon/host/event-loop-delay';
import { HOST_METER_NAME } from '@mon/host/meter-name';
import { ExponentialBuckets, combineSnapshots, type ExponentialSnapshot } from './exponential-buckets.js';
import { hrTime } from './hr-time.js';
import type { HistogramAggregation } from './http-server-metrics.js';
import { AggregationTemporality, DataPointType } from './sdk-constants.js';

/** DELAY_BUCKETS in whole microseconds, the unit samples are recorded in. */
const BOUNDS_MICROS: readonly number[] = DELAY_BUCKETS.map((b) => Math.round(b * 1e6));

/** One descriptor for every collection: the Prometheus side caches names by descriptor. */
const DESCRIPTOR = { ...DELAY_HISTOGRAM, valueType: ValueType.DOUBLE };

/** What a delta reader was last sent. */
interface Snapshot {
  count: number;
  sumMicros: number;
  buckets: number[];
  exponential: ExponentialSnapshot;
}

export class EventLoopDelayHistogram implements DelayRecorder {
  count = 0;
  sumMicros = 0;
  minMicros = Number.MAX_SAFE_INTEGER;
  maxMicros = 0;
  readonly buckets = new Array<number>(BOUNDS_MICROS.length + 1).fill(0);
  readonly exponential = new ExponentialBuckets();
  readonly #startTime: HrTime = hrTime();

  /** See DelayRecorder: one sample and `zeros` samples of 0, added as one count. */
  record(micros: number, zeros: number): void {
    // Whole microseconds, as the HTTP durations: lateness under half a microsecond is none, and
    // the exponential buckets need not stretch down to nanoseconds (coarser buckets over all).
    const us = Math.round(micros);
    this.count += 1 + zeros;
    this.sumMicros += us;
    if (us > this.maxMicros) this.maxMicros = us;
    if (us < this.minMicros) this.minMicros = us;
    // Linear scan: most samples (an idle or lightly loaded loop) are in the first buckets.
    let i = 0;
    while (i < BOUNDS_MICROS.length && us > BOUNDS_MICROS[i]!) i++;
    this.buckets[i]!++;
    this.exponential.recordMicros(us);
    if (zeros > 0) {
      this.buckets[0]! += zeros;
      this.exponential.zeroCount += zeros;
      this.minMicros = 0;
    }
  }

  /**
   * A producer for one reader, as HttpServerMetrics.producer: a delta reader gets what was recorded
   * since its last collection; `histograms` says whether it takes classic buckets (each point
   * carrying its native ones as `value.exponential`) or an exponential histogram only.
   */
  producer(temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE, histograms: HistogramAggregation = 'explicit'): MetricProducer {
    const delta = temporality === AggregationTemporality.DELTA;
    let last: Snapshot | undefined;
    let lastCollection = this.#startTime;
    return {
      collect: async (): Promise<CollectionResult> => {
        const now = hrTime();
        const current: Snapshot = { count: this.count, sumMicros: this.sumMicros, buckets: this.buckets.slice(), exponential: this.exponential.snapshot() };
        const since = delta ? last : undefined;
        const startTime = delta ? lastCollection : this.#startTime;
        if (delta) last = current;
        lastCollection = now;
        const metric = this.#metric(since === undefined ? current : minus(current, since), startTime, now, temporality, histograms);
        return {
          // The reader keeps the SDK's resource and takes only scopeMetrics from producers. The
          // host meter's scope: the same series as the SDK instrument it stands in for.
          resourceMetrics: { resource: undefined as unknown as Resource, scopeMetrics: metric ? [{ scope: { name: HOST_METER_NAME }, metrics: [metric] }] : [] },
          errors: [],
        };
      },
    };
  }

  /**
   * The metric, or none when nothing was recorded (ever, or since a delta reader's last collection).
   * Object literals without spreads: this runs once per collection, so never optimized, and a
   * spread costs tens of µs in unoptimized code (test/bench/event-loop-record.mjs).
   */
  #metric(s: Snapshot, startTime: HrTime, endTime: HrTime, temporality: AggregationTemporality, histograms: HistogramAggregation): MetricData | undefined {
    if (s.count === 0) return undefined;
    const sum = s.sumMicros / 1e6;
    const exponential: ExponentialHistogram = {
      count: s.count,
      sum,
      scale: s.exponential.scale,
      zeroCount: s.exponential.zeroCount,
      positive: { offset: s.exponential.offset, bucketCounts: s.exponential.bucketCounts },
      negative: { offset: 0, bucketCounts: [] },
    };
    // min/max are over the whole lifetime: a delta point must not claim them.
    if (temporality === AggregationTemporality.CUMULATIVE) {
      exponential.min = this.minMicros / 1e6;
      exponential.max = this.maxMicros / 1e6;
    }
    if (histograms === 'exponential') {
      return {
        descriptor: DESCRIPTOR,
        aggregationTemporality: temporality,
        dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
        dataPoints: [{ startTime, endTime, attributes: {}, value: exponential }],
      };
    }
    const value: HistogramWithExponential = { buckets: { boundaries: DELAY_BUCKETS as number[], counts: s.buckets }, count: s.count, sum, exponential };
    if (exponential.min !== undefined) {
      value.min = exponential.min;
      value.max = exponential.max;
    }
    return { descriptor: DESCRIPTOR, aggregationTemporality: temporality, dataPointType: DataPointType.HISTOGRAM, dataPoints: [{ startTime, endTime, attributes: {}, value }] };
  }
}

function minus(a: Snapshot, b: Snapshot): Snapshot {
  return {
    count: a.count - b.count,
    sumMicros: a.sumMicros - b.sumMicros,
    buckets: a.buckets.map((c, i) => c - b.buckets[i]!),
    exponential: combineSnapshots(a.exponential, b.exponential, -1),
  };
}
