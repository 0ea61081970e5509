// The container series from a MetricProducer, for a reader's `metricProducers`: the same points as
// the instruments of container-metrics.ts, without the SDK's per-instrument work at each collection
// (storages, attribute hashing, a callback per reader: half the group's cost, RESULTS.md).
import type { Attributes, HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import type { AggregationTemporality, CollectionResult, DataPoint, DataPointType, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { HOST_METER_NAME } from '../meter-name.js';
import type { Report } from '../report.js';
import type { Cgroup } from './cgroup.js';
import { collectContainer, CONTAINER_SERIES, type ContainerSeries, type Emit } from './container-metrics.js';

// sdk-metrics is the app's (a peer): only its types are imported, its wire values mirrored here,
// as register/src/sdk-constants.ts does. They cannot change without breaking every exporter.
const DELTA = 0 as AggregationTemporality.DELTA;
const CUMULATIVE = 1 as AggregationTemporality.CUMULATIVE;
const GAUGE = 2 as DataPointType.GAUGE;
const SUM = 3 as DataPointType.SUM;

// The scope the SDK gives HOST_METER_NAME's instruments: the cluster merge (register's
// merge-rule.ts) and the exporters see these points as they saw the instruments'.
const SCOPE = Object.freeze({ name: HOST_METER_NAME });
const NO_ATTRIBUTES: Attributes = Object.freeze({});

const millisToHrTime = (ms: number): HrTime => [Math.trunc(ms / 1000), Math.round((ms % 1000) * 1e6)];

// Made once: a collection allocates only its metrics and points (collect.bench.mjs measured the
// producer's own collect() at 1.3-1.5 times the reads it wraps before this).
// By ContainerSeries.index: an array read, where a Map lookup cost a few µs at a collection's cold start.
const DESCRIPTORS: ReadonlyArray<MetricData['descriptor']> = Object.values(CONTAINER_SERIES).map((s) =>
  Object.freeze({ name: s.name, description: s.description, unit: s.unit, valueType: ValueType.DOUBLE }),
);

/**
 * A producer for one reader. `counters` is the temporality that reader takes for observable
 * counters (its exporter's choice; OTLP's `delta` preference): a delta reader gets what each
 * counter gained since its own previous collection, from the time of that collection, as the SDK
 * gives it for an observable counter. Up-down counters and gauges are the current value for every
 * reader (OpenTelemetry's delta preference keeps up-down counters cumulative).
 */
export function containerProducer(cgroup: Cgroup, report: Report, startMs: number, counters: AggregationTemporality = CUMULATIVE): MetricProducer {
  const startTime = millisToHrTime(startMs);
  const delta = counters === DELTA;
  // Delta only: what this reader was last sent, by series and attributes (cpu.mode).
  const sent = delta ? new Map<string, number>() : undefined;
  let lastCollection = startTime;
  let metrics: MetricData[] = [];
  let now = startTime;
  // The metric the last point went to, and its series.
  let metric: MetricData | undefined;
  let metricSeries: ContainerSeries | undefined;
  // collectContainer emits each series' points one after the other, in CONTAINER_SERIES order.
  const emit: Emit = (s, value, attributes = NO_ATTRIBUTES) => {
    let start = startTime;
    if (sent !== undefined && s.kind === 'counter') {
      const mode = attributes['cpu.mode'];
      const key = mode === undefined ? s.name : `${s.name}\0${String(mode)}`;
      const last = sent.get(key);
      sent.set(key, value);
      start = lastCollection;
      // A counter that went down was reset (a new cgroup): its delta starts again from zero.
      if (last !== undefined && value >= last) value -= last;
    }
    const point: DataPoint<number> = { startTime: s.kind === 'gauge' ? now : start, endTime: now, attributes, value };
    if (s === metricSeries) (metric!.dataPoints as DataPoint<number>[]).push(point);
    else {
      // A new metric holds its first point from the start (no push into an empty array): this
      // runs cold, once per collection, where every allocation and call shows (files.ts).
      metric = metricOf(s, delta, point);
      metricSeries = s;
      metrics.push(metric);
    }
  };
  return {
    collect(): Promise<CollectionResult> {
      now = millisToHrTime(Date.now());
      metrics = [];
      metricSeries = undefined;
      collectContainer(cgroup, report, emit);
      lastCollection = now;
      return Promise.resolve({
        resourceMetrics: {
          // The reader puts its own resource on the producers' scopes.
          resource: undefined as never,
          // No limit (or a failed read): no scope at all, an empty one is noise on the wire.
          scopeMetrics: metrics.length > 0 ? [{ scope: SCOPE, metrics }] : [],
        },
        errors: [],
      });
    },
  };
}

function metricOf(s: ContainerSeries, delta: boolean, first: DataPoint<number>): MetricData {
  const descriptor = DESCRIPTORS[s.index]!;
  if (s.kind === 'gauge') return { descriptor, aggregationTemporality: CUMULATIVE, dataPointType: GAUGE, dataPoints: [first] };
  return {
    descriptor,
    aggregationTemporality: delta && s.kind === 'counter' ? DELTA : CUMULATIVE,
    dataPointType: SUM,
    isMonotonic: s.kind === 'counter',
    dataPoints: [first],
  };
}
