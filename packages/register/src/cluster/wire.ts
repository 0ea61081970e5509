// Metrics as a JSON string for the IPC channel, and back.
// Wire format: JSON-safe (JSON has no NaN or Infinity; a cluster may use either IPC
// serialization). End times are left out: the primary stamps its own, and a push whose data did
// not change then encodes to the same string, which is how a worker knows not to send it.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, type Histogram, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { exponentialToWire, setExponential, type ExponentialSnapshot } from './exponential.js';

type WireNumber = number | string;

interface WireHistogram {
  boundaries: number[];
  counts: number[];
  count: number;
  sum?: WireNumber;
  min?: WireNumber;
  max?: WireNumber;
  /** The same observations in exponential buckets (http-server-metrics.ts), for native histograms. */
  exponential?: ExponentialSnapshot;
}

interface WirePoint {
  startTime: HrTime;
  attributes: Attributes;
  value: WireNumber | WireHistogram;
}

interface WireMetric {
  descriptor: MetricData['descriptor'];
  dataPointType: DataPointType;
  aggregationTemporality: MetricData['aggregationTemporality'];
  isMonotonic?: boolean;
  points: WirePoint[];
}

interface WireScope {
  scope: InstrumentationScope;
  metrics: WireMetric[];
}

const toWire = (n: number): WireNumber => (Number.isFinite(n) ? n : String(n));

/** ScopeMetrics as a JSON string. Exponential histograms are left out: nothing in mon creates them. */
export function encodeScopes(scopes: readonly ScopeMetrics[]): string {
  const out: WireScope[] = [];
  for (const { scope, metrics } of scopes) {
    const wire: WireMetric[] = [];
    for (const metric of metrics) {
      if (metric.dataPoints.length === 0) continue;
      const base = {
        descriptor: metric.descriptor,
        dataPointType: metric.dataPointType,
        aggregationTemporality: metric.aggregationTemporality,
      };
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        wire.push({
          ...base,
          points: metric.dataPoints.map((p) => ({
            startTime: p.startTime,
            attributes: p.attributes,
            value: {
              boundaries: p.value.buckets.boundaries,
              counts: p.value.buckets.counts,
              count: p.value.count,
              ...(p.value.sum === undefined ? {} : { sum: toWire(p.value.sum) }),
              ...(p.value.min === undefined ? {} : { min: toWire(p.value.min) }),
              ...(p.value.max === undefined ? {} : { max: toWire(p.value.max) }),
              ...exponentialToWire(p.value),
            },
          })),
        });
      } else if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
        wire.push({
          ...base,
          ...(metric.dataPointType === DataPointType.SUM ? { isMonotonic: metric.isMonotonic } : {}),
          points: metric.dataPoints.map((p) => ({ startTime: p.startTime, attributes: p.attributes, value: toWire(p.value) })),
        });
      }
    }
    if (wire.length > 0) out.push({ scope, metrics: wire });
  }
  return JSON.stringify(out);
}

export interface DecodeOptions {
  /**
   * The input is a file (the pm2 carry-over), not a worker of this app: only totals (monotonic
   * sums, histograms), every number finite and non-negative, and at most `maxPoints` points.
   */
  totalsOnly?: boolean;
  maxPoints?: number;
}

/** The finest and coarsest scales an exponential snapshot may have: Prometheus native schemas 8 .. -4. */
const MIN_SCALE = -4;
const MAX_SCALE = 8;
/** Bucket indexes stay int32 (combineSnapshots shifts them with `>>`). */
const MAX_OFFSET = 2 ** 30;
/** The most buckets a snapshot or a classic histogram may have (mon keeps 160 and 24). */
const MAX_BUCKETS = 160;
const MAX_BOUNDARIES = 1_000;
const MAX_ATTRIBUTES = 128;
const MAX_STRING = 4_096;

/** Thrown for input that is not what encodeScopes writes; says where, never echoes the values. */
class Malformed extends Error {
  override name = 'Malformed';
}

/**
 * The inverse of encodeScopes; every point gets `endTime`. The input is checked whole before any of
 * it is used (a file under pm2 may have been edited by hand or by another user): a throw (Malformed)
 * for anything encodeScopes could not have written, so nothing downstream (the merge's scale loop,
 * the serializer) ever sees a non-number, a missing descriptor or an unbounded bucket range.
 */
export function decodeScopes(json: string, endTime: HrTime, options: DecodeOptions = {}): ScopeMetrics[] {
  const wire: unknown = JSON.parse(json);
  const totalsOnly = options.totalsOnly === true;
  const budget = { points: options.maxPoints ?? Infinity };
  return list(wire, 'scopes').map((s, i) => {
    const at = `scope ${i}`;
    const { scope, metrics } = object(s, at) as { scope: unknown; metrics: unknown };
    return { scope: scopeOf(scope, at), metrics: list(metrics, `${at} metrics`).map((m, j) => metricOf(m, `${at} metric ${j}`, endTime, totalsOnly, budget)) };
  });
}

function metricOf(input: unknown, at: string, endTime: HrTime, totalsOnly: boolean, budget: { points: number }): MetricData {
  const m = object(input, at) as Partial<Record<keyof WireMetric, unknown>>;
  const descriptor = descriptorOf(m.descriptor, at);
  const aggregationTemporality = m.aggregationTemporality;
  if (aggregationTemporality !== AggregationTemporality.CUMULATIVE && aggregationTemporality !== AggregationTemporality.DELTA) throw new Malformed(`${at}: bad temporality`);
  const base = { descriptor, aggregationTemporality };
  const points = list(m.points, `${at} points`);
  budget.points -= points.length;
  if (budget.points < 0) throw new Malformed('too many points');
  const number = (n: unknown, what: string): number => numberOf(n, `${at} ${what}`, totalsOnly);
  const point = (p: unknown, k: number) => {
    const { startTime, attributes, value } = object(p, `${at} point ${k}`) as Partial<Record<keyof WirePoint, unknown>>;
    return { startTime: timeOf(startTime, `${at} point ${k}`), endTime, attributes: attributesOf(attributes, `${at} point ${k}`), value };
  };
  if (m.dataPointType === DataPointType.HISTOGRAM) {
    return {
      ...base,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: points.map((p, k) => {
        const { value, ...rest } = point(p, k);
        return { ...rest, value: histogramOf(value, `${at} point ${k}`, number) };
      }),
    };
  }
  if (m.dataPointType === DataPointType.SUM) {
    if (m.isMonotonic !== undefined && typeof m.isMonotonic !== 'boolean') throw new Malformed(`${at}: bad isMonotonic`);
    if (totalsOnly && m.isMonotonic !== true) throw new Malformed(`${at}: not a total`);
    const dataPoints = points.map((p, k) => {
      const { value, ...rest } = point(p, k);
      return { ...rest, value: number(value, `point ${k}`) };
    });
    return { ...base, dataPointType: DataPointType.SUM, isMonotonic: m.isMonotonic === true, dataPoints };
  }
  if (m.dataPointType === DataPointType.GAUGE && !totalsOnly) {
    const dataPoints = points.map((p, k) => {
      const { value, ...rest } = point(p, k);
      return { ...rest, value: number(value, `point ${k}`) };
    });
    return { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
  }
  throw new Malformed(`${at}: bad point type`);
}

function histogramOf(input: unknown, at: string, number: (n: unknown, what: string) => number): Histogram {
  const h = object(input, at) as Partial<Record<keyof WireHistogram, unknown>>;
  const boundaries = list(h.boundaries, `${at} boundaries`, MAX_BOUNDARIES);
  for (let i = 0; i < boundaries.length; i++) {
    const b = boundaries[i];
    if (typeof b !== 'number' || !Number.isFinite(b) || (i > 0 && b <= (boundaries[i - 1] as number))) throw new Malformed(`${at}: bad boundaries`);
  }
  const counts = list(h.counts, `${at} counts`, MAX_BOUNDARIES + 1);
  if (counts.length !== boundaries.length + 1) throw new Malformed(`${at}: counts do not match boundaries`);
  let total = 0;
  for (const c of counts) total += count(c, `${at} counts`);
  if (count(h.count, `${at} count`) !== total) throw new Malformed(`${at}: count is not the sum of its buckets`);
  const value: Histogram = { buckets: { boundaries: boundaries as number[], counts: counts as number[] }, count: total };
  if (h.sum !== undefined) value.sum = number(h.sum, 'sum');
  if (h.min !== undefined) value.min = number(h.min, 'min');
  if (h.max !== undefined) value.max = number(h.max, 'max');
  if (h.exponential !== undefined) setExponential(value, exponentialOf(h.exponential, `${at} exponential`));
  return value;
}

function exponentialOf(input: unknown, at: string): ExponentialSnapshot {
  const e = object(input, at) as Partial<Record<keyof ExponentialSnapshot, unknown>>;
  const { scale, offset } = e;
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < MIN_SCALE || scale > MAX_SCALE) throw new Malformed(`${at}: bad scale`);
  const bucketCounts = list(e.bucketCounts, `${at} buckets`, MAX_BUCKETS);
  for (const c of bucketCounts) count(c, `${at} buckets`);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < -MAX_OFFSET || offset + bucketCounts.length > MAX_OFFSET) throw new Malformed(`${at}: bad offset`);
  return { scale, zeroCount: count(e.zeroCount, `${at} zero count`), offset, bucketCounts: bucketCounts as number[] };
}

function descriptorOf(input: unknown, at: string): MetricData['descriptor'] {
  const d = object(input, `${at} descriptor`) as Record<string, unknown>;
  const { name, description, unit, valueType } = d;
  if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new Malformed(`${at}: bad name`);
  if (valueType !== ValueType.INT && valueType !== ValueType.DOUBLE) throw new Malformed(`${at}: bad value type`);
  return { name, description: string(description, `${at} description`), unit: string(unit, `${at} unit`), valueType };
}

function scopeOf(input: unknown, at: string): InstrumentationScope {
  const s = object(input, at) as Record<string, unknown>;
  return {
    name: string(s.name, `${at} name`),
    ...(s.version === undefined ? {} : { version: string(s.version, `${at} version`) }),
    ...(s.schemaUrl === undefined ? {} : { schemaUrl: string(s.schemaUrl, `${at} schema`) }),
  };
}

function attributesOf(input: unknown, at: string): Attributes {
  const a = object(input, `${at} attributes`) as Record<string, unknown>;
  const keys = Object.keys(a);
  if (keys.length > MAX_ATTRIBUTES) throw new Malformed(`${at}: too many attributes`);
  for (const key of keys) {
    const v = a[key];
    if (key.length > MAX_STRING || !(isPrimitive(v) || (Array.isArray(v) && v.length <= MAX_ATTRIBUTES && v.every(isPrimitive)))) {
      throw new Malformed(`${at}: bad attribute`);
    }
  }
  return a as Attributes;
}

const isPrimitive = (v: unknown): boolean =>
  (typeof v === 'string' && v.length <= MAX_STRING) || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || v === null;

function timeOf(input: unknown, at: string): HrTime {
  if (!Array.isArray(input) || input.length !== 2) throw new Malformed(`${at}: bad start time`);
  const [s, ns] = input as unknown[];
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || typeof ns !== 'number' || !Number.isInteger(ns) || ns < 0 || ns >= 1e9) {
    throw new Malformed(`${at}: bad start time`);
  }
  return [s, ns];
}

/** A number as toWire writes it: for totals, finite and non-negative; otherwise NaN and the infinities too, and any sign. */
function numberOf(input: unknown, at: string, totalsOnly: boolean): number {
  const n = typeof input === 'number' ? input : input === 'NaN' || input === 'Infinity' || input === '-Infinity' ? Number(input) : undefined;
  if (n === undefined || (totalsOnly && !(Number.isFinite(n) && n >= 0))) throw new Malformed(`${at}: bad number`);
  return n;
}

/** A count: a non-negative integer. */
function count(input: unknown, at: string): number {
  if (typeof input !== 'number' || !Number.isSafeInteger(input) || input < 0) throw new Malformed(`${at}: bad count`);
  return input;
}

function object(input: unknown, at: string): object {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Malformed(`${at}: not an object`);
  return input;
}

function list(input: unknown, at: string, max = Infinity): unknown[] {
  if (!Array.isArray(input) || input.length > max) throw new Malformed(`${at}: not a list${max === Infinity ? '' : ` of at most ${max}`}`);
  return input;
}

function string(input: unknown, at: string): string {
  if (typeof input !== 'string' || input.length > MAX_STRING) throw new Malformed(`${at}: not a string`);
  return input;
}
