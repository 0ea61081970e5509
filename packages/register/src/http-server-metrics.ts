// Pre-aggregated HTTP server metrics, handed to readers as a MetricProducer.
//
// Why not sdk-metrics instruments: `histogram.record(v, attrs)` and `counter.add(1, attrs)` hash the
// attribute object on every call (sort keys + stringify). On a hello-world server that alone took
// throughput from 0.93x to 0.82x of bare (measured for the design; test/bench has ours). Here each
// (method, scheme, status, aborted, route) combination becomes one Series whose attribute object is
// built once; a request costs one Map lookup by a small integer and a few number writes.
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime } from './hr-time.js';
import type { CollectionResult, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType, ValueType } from './sdk-constants.js';
import type { Resource } from '@opentelemetry/resources';
import type { HistogramWithExponential } from '@mon/prometheus';
import { ExponentialBuckets, combineSnapshots, type ExponentialSnapshot } from './exponential-buckets.js';

/** Stable semconv boundaries, plus finer ones below 5 ms so a fast service gets real percentiles. */
export const DURATION_BOUNDARIES: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5,
  7.5, 10,
];

/** DURATION_BOUNDARIES in whole microseconds, the unit requests are timed in. */
const BOUNDARIES_MICROS: readonly number[] = DURATION_BOUNDARIES.map((b) => Math.round(b * 1e6));

/** The methods the HTTP semantic conventions know; anything else is `_OTHER`. */
export const KNOWN_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];
const OTHER = KNOWN_METHODS.length;
const METHOD_NAMES = [...KNOWN_METHODS, '_OTHER'];
const methodIndexes = new Map(KNOWN_METHODS.map((m, i) => [m, i]));

export function methodIndex(method: string | undefined): number {
  // Most requests are GETs: a string compare, before a Map lookup. Map.get(undefined) is a miss.
  if (method === 'GET') return 0;
  return methodIndexes.get(method as string) ?? OTHER;
}

/** HTTP/1.x slots: method (0..9) x scheme (0 http, 1 https). */
const HTTP1_SLOTS = METHOD_NAMES.length * 2;
/**
 * Added to a slot for HTTP/2 (http2/server.ts): its series carry network.protocol.version="2";
 * HTTP/1.x series carry none, so their identity is unchanged (docs/http2-grpc.md says why).
 */
export const HTTP2_SLOT = HTTP1_SLOTS;
/** method x scheme x protocol: the identity of an active request. */
export const SLOTS = HTTP1_SLOTS * 2;
export const slotOf = (method: number, https: boolean): number => method * 2 + (https ? 1 : 0);

/** The attributes a slot stands for; built once per series, never per request. */
function slotAttributes(slot: number): Attributes {
  const attributes: Attributes = {
    'http.request.method': METHOD_NAMES[(slot % HTTP1_SLOTS) >> 1]!,
    'url.scheme': slot & 1 ? 'https' : 'http',
  };
  if (slot >= HTTP2_SLOT) attributes['network.protocol.version'] = '2';
  return attributes;
}

/** error.type for a request whose response never finished (client went away, socket destroyed). */
export const ABORTED = 'aborted';

export const INSTRUMENTS = {
  duration: 'http.server.request.duration',
  requests: 'http.server.requests',
  active: 'http.server.active_requests',
} as const;

// Durations are kept in microseconds and handed in as integers: under 2^30 µs (17 minutes) an
// integer is a V8 Smi, passed and stored without allocating, where a double in seconds becomes a
// 16-byte heap number whenever V8 decides not to inline the call (its budget depends on the app).
/**
 * One series' durations as an explicit-bucket histogram, in whole microseconds; the HTTP client's
 * series are these, the server's add exponential buckets.
 */
export class Durations {
  count = 0;
  sumMicros = 0;
  minMicros = Number.MAX_SAFE_INTEGER;
  maxMicros = -1;
  readonly buckets = new Array<number>(DURATION_BOUNDARIES.length + 1).fill(0);
  constructor(readonly attributes: Attributes) {}

  /** On the hot path: no allocation. */
  record(micros: number): void {
    this.count++;
    this.sumMicros += micros;
    if (micros < this.minMicros) this.minMicros = micros;
    if (micros > this.maxMicros) this.maxMicros = micros;
    // Linear scan: most requests land in the first buckets, so this beats a binary search.
    let i = 0;
    while (i < BOUNDARIES_MICROS.length && micros > BOUNDARIES_MICROS[i]!) i++;
    this.buckets[i]!++;
  }
}

class Series extends Durations {
  /** The same durations in base-2 exponential buckets: Prometheus native histograms, OTLP exponential. */
  readonly exponential = new ExponentialBuckets();
}

/** Per delta reader: what it was last sent, so the next export carries only the difference. */
interface Snapshot {
  count: number;
  sum: number;
  buckets: number[];
  exponential: ExponentialSnapshot;
}

/**
 * How readers want the duration histogram. `explicit`: classic buckets (DURATION_BOUNDARIES), each
 * point also carrying its exponential buckets as `value.exponential` (an OpenTelemetry
 * ExponentialHistogram) for the Prometheus protobuf exposition, which serves both; exporters that
 * do not know the field ignore it. `exponential`: an exponential histogram only (OTLP with
 * OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram).
 */
export type HistogramAggregation = 'explicit' | 'exponential';

export class HttpServerMetrics {
  /** Series without a route, keyed by seriesKey(). */
  private readonly plain = new Map<number, Series>();
  /** Series with a route: route -> key -> series. Routes come from bounded sets (see route code). */
  private readonly routed = new Map<string, Map<number, Series>>();
  private readonly active = new Array<number>(SLOTS).fill(0);
  /** Method/scheme pairs ever seen, so an idle app does not show 20 zero active-request series. */
  private readonly seen = new Array<boolean>(SLOTS).fill(false);
  private readonly startTime: HrTime = hrTime();
  private seriesCount = 0;
  /** Where requests go once the series limit is reached, as the SDK's cardinality limit does. */
  private overflow: Series | undefined;
  /**
   * The series the last request went to, by its key and route: a steady stream of the same
   * request (one route, one status) finds it with two compares instead of a string-keyed and a
   * number-keyed Map lookup (~100 instructions a request, test/bench/RESULTS.md). Series are never
   * removed, so the cached one stays valid.
   */
  private lastKey = -1;
  private lastRoute: string | undefined = undefined;
  private lastSeries: Series | undefined = undefined;

  /**
   * @param maxSeries the most (method, scheme, status, outcome, route) series kept; the rest are
   *   counted in one series labelled otel.metric.overflow=true. Routes are bounded on their own
   *   (routes.ts); this bounds what is left, e.g. an app sending hundreds of odd status codes.
   * @param onOverflow called once, the first time the limit is hit.
   */
  constructor(
    private readonly maxSeries = 2000,
    private readonly onOverflow: () => void = () => {},
  ) {}

  requestStarted(slot: number): void {
    this.active[slot]!++;
    this.seen[slot] = true;
  }

  /**
   * The hot path: called once per request when its response closes.
   * @param status the status code sent, 0 when no header went out.
   * @param micros how long the request took, in whole microseconds.
   */
  requestEnded(slot: number, status: number, aborted: boolean, route: string | undefined, micros: number): void {
    this.active[slot]!--;
    const key = (status * SLOTS + slot) * 2 + (aborted ? 1 : 0);
    let series = this.lastSeries;
    if (key !== this.lastKey || route !== this.lastRoute || series === undefined) {
      let table = this.plain;
      if (route !== undefined) {
        table = this.routed.get(route) ?? this.newRoute(route);
      }
      series = table.get(key) ?? this.newSeries(table, key, slot, status, aborted, route);
      this.lastKey = key;
      this.lastRoute = route;
      this.lastSeries = series;
    }
    series.record(micros);
    series.exponential.recordMicros(micros);
  }

  private newRoute(route: string): Map<number, Series> {
    const table = new Map<number, Series>();
    this.routed.set(route, table);
    return table;
  }

  private newSeries(
    table: Map<number, Series>,
    key: number,
    slot: number,
    status: number,
    aborted: boolean,
    route: string | undefined,
  ): Series {
    if (this.seriesCount >= this.maxSeries) {
      if (this.overflow === undefined) {
        this.overflow = new Series({ 'otel.metric.overflow': true });
        this.plain.set(-1, this.overflow);
        this.onOverflow();
      }
      return this.overflow;
    }
    this.seriesCount++;
    const attributes = slotAttributes(slot);
    if (route !== undefined) attributes['http.route'] = route;
    if (status !== 0) attributes['http.response.status_code'] = status;
    if (aborted) attributes['error.type'] = ABORTED;
    else if (status >= 500) attributes['error.type'] = String(status);
    const series = new Series(attributes);
    table.set(key, series);
    return series;
  }

  private *allSeries(): Iterable<Series> {
    yield* this.plain.values();
    for (const table of this.routed.values()) yield* table.values();
  }

  /**
   * A producer for one reader. Readers that want delta temporality (OTLP with
   * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta|lowmemory) get differences since their
   * last collection; the active-requests up-down counter stays cumulative, as the spec's presets say.
   */
  producer(temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE, histograms: HistogramAggregation = 'explicit'): MetricProducer {
    const sent = temporality === AggregationTemporality.DELTA ? new WeakMap<Series, Snapshot>() : undefined;
    let lastCollection = this.startTime;
    return {
      collect: async (): Promise<CollectionResult> => {
        const now = hrTime();
        const metrics = this.collect(now, sent, lastCollection, histograms);
        lastCollection = now;
        return {
          // The reader keeps the SDK's resource and takes only scopeMetrics from producers.
          resourceMetrics: { resource: undefined as unknown as Resource, scopeMetrics: [{ scope: { name: '@mon/register' }, metrics }] },
          errors: [],
        };
      },
    };
  }

  private collect(
    now: HrTime,
    sent: WeakMap<Series, Snapshot> | undefined,
    lastCollection: HrTime,
    histograms: HistogramAggregation,
  ): MetricData[] {
    const delta = sent !== undefined;
    const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const startTime = delta ? lastCollection : this.startTime;
    const descriptor = {
      name: INSTRUMENTS.duration,
      description: 'Duration of HTTP server requests.',
      unit: 's',
      valueType: ValueType.DOUBLE,
    };
    const durations: MetricData & { dataPointType: DataPointType.HISTOGRAM } = {
      descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [],
    };
    const exponentialDurations: MetricData & { dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM } = {
      descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints: [],
    };
    const requests: MetricData & { dataPointType: DataPointType.SUM } = {
      descriptor: {
        name: INSTRUMENTS.requests,
        description: 'Number of HTTP server requests, counted when the response finishes or is aborted.',
        unit: '{request}',
        valueType: ValueType.INT,
      },
      aggregationTemporality: temporality,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: [],
    };
    for (const series of this.allSeries()) {
      let count = series.count;
      let sum = series.sumMicros / 1e6;
      let buckets = series.buckets;
      let exponential = series.exponential.snapshot();
      if (sent !== undefined) {
        const last = sent.get(series);
        const current = { count, sum, buckets: buckets.slice(), exponential };
        sent.set(series, current);
        if (last !== undefined) {
          count -= last.count;
          sum -= last.sum;
          buckets = current.buckets.map((c, i) => c - last.buckets[i]!);
          exponential = combineSnapshots(exponential, last.exponential, -1);
        }
        // Nothing new for this series since the last export: do not send a zero point.
        if (count === 0) continue;
      }
      const point = { startTime, endTime: now, attributes: series.attributes };
      // min/max are over the whole lifetime, so a delta point must not claim them.
      const minMax = delta ? {} : { min: series.minMicros / 1e6, max: series.maxMicros / 1e6 };
      const exponentialValue = {
        count,
        sum,
        scale: exponential.scale,
        zeroCount: exponential.zeroCount,
        positive: { offset: exponential.offset, bucketCounts: exponential.bucketCounts },
        negative: { offset: 0, bucketCounts: [] },
        ...minMax,
      };
      if (histograms === 'exponential') {
        exponentialDurations.dataPoints.push({ ...point, value: exponentialValue });
      } else {
        const value: HistogramWithExponential = {
          buckets: { boundaries: DURATION_BOUNDARIES as number[], counts: buckets.slice() },
          count,
          sum,
          ...minMax,
          exponential: exponentialValue,
        };
        durations.dataPoints.push({ ...point, value });
      }
      requests.dataPoints.push({ ...point, value: count });
    }
    const active: MetricData = {
      descriptor: {
        name: INSTRUMENTS.active,
        description: 'Number of HTTP server requests in flight.',
        unit: '{request}',
        valueType: ValueType.INT,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: false,
      dataPoints: [],
    };
    for (let slot = 0; slot < SLOTS; slot++) {
      if (!this.seen[slot]) continue;
      active.dataPoints.push({
        startTime: this.startTime,
        endTime: now,
        attributes: slotAttributes(slot),
        value: this.active[slot]!,
      });
    }
    // An empty metric says nothing and some backends reject it: leave it out.
    return [durations, exponentialDurations, requests, active].filter((m) => m.dataPoints.length > 0);
  }
}
