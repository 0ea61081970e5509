// ResourceMetrics -> the Prometheus protobuf exposition: a stream of io.prometheus.client.MetricFamily
// messages (client_model metrics.proto), each prefixed by its length as a varint
// (`encoding=delimited`). Pure: no I/O, no clock. Prometheus asks for it when native histograms are
// on: a histogram point carries its classic buckets and, when it has them (`value.exponential` on a
// histogram point, or an exponential-histogram point), its native buckets, so a Prometheus that
// keeps classic histograms (`scrape_classic_histograms`) loses nothing. The same families, names and
// labels as the text exposition (families.ts, labels.ts).
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type ExponentialHistogram, type Histogram, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { groupFamilies, type Family, type FamilyType, type InstrumentationScope } from './families.js';
import { labelPairs, reservedLabels, TARGET_INFO_HELP, targetInfoAttributes, type RenderState } from './labels.js';
import { familyUnit } from './names.js';
import { ProtobufWriter } from './protobuf-writer.js';
import { CHUNK_LENGTH, type SerializeOptions } from './serialize.js';

/** A histogram point's value that also carries its base-2 exponential buckets (the same observations). */
export type HistogramWithExponential = Histogram & { exponential?: ExponentialHistogram };

// metrics.proto field numbers.
const FAMILY = { name: 1, help: 2, type: 3, metric: 4, unit: 5 } as const;
// LabelPair (name 1, value 2), Gauge and Counter (value 1) and Bucket (cumulative_count 1,
// upper_bound 2) are written whole by ProtobufWriter's fused methods.
const METRIC = { label: 1, gauge: 2, counter: 3, histogram: 7 } as const;
const HISTOGRAM = {
  sampleCount: 1,
  sampleSum: 2,
  bucket: 3,
  schema: 5,
  zeroThreshold: 6,
  zeroCount: 7,
  negativeSpan: 9,
  negativeDelta: 10,
  positiveSpan: 12,
  positiveDelta: 13,
} as const;
const SPAN = { offset: 1, length: 2 } as const;
const METRIC_TYPE: Record<FamilyType, number> = { counter: 0, gauge: 1, histogram: 4 };

/** Prometheus native-histogram schemas run from -4 to 8; OpenTelemetry scales go finer (20). */
const MAX_SCHEMA = 8;
const MIN_SCHEMA = -4;
/**
 * The zero bucket's half-width: client_golang's default (2^-128). Exponential histograms count only
 * exact zeros there, which this bucket holds; and a threshold above 0 marks the histogram native
 * for every Prometheus version, even before its first observation.
 */
const ZERO_THRESHOLD = 2 ** -128;
/** A run of at most this many empty buckets stays inside a span (as zero deltas) rather than splitting it. */
const MAX_GAP_IN_SPAN = 2;

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** Renders one collection as a delimited MetricFamily stream. */
export function serializeProtobuf(resourceMetrics: ResourceMetrics, options: SerializeOptions = {}): Buffer {
  return Buffer.concat([...serializeProtobufChunks(resourceMetrics, options)]);
}

/**
 * serializeProtobuf() lazily, in pieces of at least CHUNK_LENGTH bytes (but the last), cut between
 * families (a family is one message). Always yields at least one piece.
 */
export function* serializeProtobufChunks(resourceMetrics: ResourceMetrics, options: SerializeOptions = {}): Generator<Buffer, void> {
  const withTargetInfo = options.withTargetInfo !== false;
  const withScopeLabels = options.withScopeLabels === true;
  const onDrop = options.onDrop;
  const families = groupFamilies(resourceMetrics, withTargetInfo, onDrop, true);
  const out = new ProtobufWriter();
  if (withTargetInfo) writeTargetInfo(out, resourceMetrics.resource.attributes);
  for (const family of families) {
    writeFamily(out, family, withScopeLabels, onDrop);
    if (out.length >= CHUNK_LENGTH) yield out.take();
  }
  yield out.take();
}

function writeTargetInfo(out: ProtobufWriter, attributes: Attributes): void {
  const pairs = labelPairs(targetInfoAttributes(attributes), undefined, { lossy: false, stringKeys: new Map() });
  if (pairs.length === 0) return;
  out.beginDelimited();
  out.stringField(FAMILY.name, 'target_info');
  out.stringField(FAMILY.help, TARGET_INFO_HELP);
  out.enumField(FAMILY.type, METRIC_TYPE.gauge);
  out.begin(FAMILY.metric);
  writeLabels(out, pairs);
  out.doubleMessage(METRIC.gauge, 1);
  out.end();
  out.end();
}

function writeFamily(out: ProtobufWriter, family: Family, withScopeLabels: boolean, onDrop: SerializeOptions['onDrop']): void {
  const { name, type } = family;
  const first = family.members[0]!;
  out.beginDelimited();
  out.stringField(FAMILY.name, name);
  out.stringField(FAMILY.help, first.descriptor.description || first.descriptor.name);
  out.enumField(FAMILY.type, METRIC_TYPE[type]);
  const unit = familyUnit(name, first.descriptor.unit, type === 'counter');
  if (unit !== '') out.stringField(FAMILY.unit, unit);

  // As in the text exposition (serialize.ts renderFamily): label sets are remembered only when two
  // could come out alike, several scopes or a lossy rendering; later twins are left out.
  let seen = family.members.length > 1 && !withScopeLabels ? new Set<string>() : undefined;
  const state: RenderState = { lossy: false, stringKeys: new Map() };
  for (let m = 0; m < family.members.length; m++) {
    const metric = family.members[m]!;
    const scopePairs = withScopeLabels ? scopeLabelPairs(family.scopes[m]!) : [];
    const reserved = reservedLabels(type === 'histogram', withScopeLabels);
    const points = metric.dataPoints as ReadonlyArray<{ attributes: Attributes; value: unknown }>;
    for (let p = 0; p < points.length; p++) {
      const point = points[p]!;
      const pairs = labelPairs(point.attributes, reserved, state);
      if (scopePairs.length > 0) pairs.push(...scopePairs);
      if (seen === undefined && state.lossy) seen = labelSetsBefore(family, m, p, withScopeLabels);
      if (seen !== undefined) {
        const key = pairs.join('\0');
        if (seen.has(key)) {
          onDrop?.(name, `duplicate series {${pairs.join(',')}}`);
          continue;
        }
        seen.add(key);
      }
      out.begin(FAMILY.metric);
      writeLabels(out, pairs);
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const value = point.value as HistogramWithExponential;
        writeHistogram(out, value, value.exponential, name, onDrop);
      } else if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
        writeHistogram(out, undefined, point.value as ExponentialHistogram, name, onDrop);
      } else {
        out.doubleMessage(type === 'counter' ? METRIC.counter : METRIC.gauge, point.value as number);
      }
      out.end();
    }
  }
  out.end();
}

function writeLabels(out: ProtobufWriter, pairs: string[]): void {
  for (let i = 0; i < pairs.length; i += 2) out.stringPairMessage(METRIC.label, pairs[i]!, pairs[i + 1]!);
}

function scopeLabelPairs(scope: InstrumentationScope): string[] {
  const pairs = ['otel_scope_name', scope.name.toWellFormed()];
  if (scope.version) pairs.push('otel_scope_version', scope.version.toWellFormed());
  return pairs;
}

/** The label-set keys of the points before member m's point p. */
function labelSetsBefore(family: Family, m: number, p: number, withScopeLabels: boolean): Set<string> {
  const seen = new Set<string>();
  const scratch: RenderState = { lossy: false, stringKeys: new Map() };
  const reserved = reservedLabels(family.type === 'histogram', withScopeLabels);
  for (let i = 0; i <= m; i++) {
    const scopePairs = withScopeLabels ? scopeLabelPairs(family.scopes[i]!) : [];
    const points = family.members[i]!.dataPoints as ReadonlyArray<{ attributes: Attributes }>;
    const end = i === m ? p : points.length;
    for (let k = 0; k < end; k++) seen.add([...labelPairs(points[k]!.attributes, reserved, scratch), ...scopePairs].join('\0'));
  }
  return seen;
}

/** A histogram: classic buckets when `classic` is given, native buckets when `exponential` is. */
function writeHistogram(
  out: ProtobufWriter,
  classic: Histogram | undefined,
  exponential: ExponentialHistogram | undefined,
  name: string,
  onDrop: SerializeOptions['onDrop'],
): void {
  const h = classic ?? exponential!;
  out.begin(METRIC.histogram);
  out.uint64Field(HISTOGRAM.sampleCount, h.count);
  if (h.sum !== undefined) out.doubleField(HISTOGRAM.sampleSum, h.sum);
  if (classic !== undefined) {
    const { boundaries, counts } = classic.buckets;
    let cumulative = 0;
    for (let i = 0; i < boundaries.length; i++) {
      cumulative += counts[i] ?? 0;
      const bound = boundaries[i]!;
      // The +Inf bucket is implied by sample_count (metrics.proto: "+Inf bucket is optional").
      if (bound === Infinity || bound !== bound) continue;
      out.bucketMessage(HISTOGRAM.bucket, cumulative, bound);
    }
  }
  if (exponential !== undefined) {
    if (exponential.scale < MIN_SCHEMA) {
      onDrop?.(name, `its exponential buckets have scale ${exponential.scale}, below the coarsest Prometheus schema (${MIN_SCHEMA}); served without native buckets`);
    } else {
      const schema = Math.min(exponential.scale, MAX_SCHEMA);
      const change = exponential.scale - schema;
      out.sintField(HISTOGRAM.schema, schema);
      out.doubleField(HISTOGRAM.zeroThreshold, ZERO_THRESHOLD);
      out.uint64Field(HISTOGRAM.zeroCount, exponential.zeroCount);
      writeBuckets(out, exponential.negative, change, HISTOGRAM.negativeSpan, HISTOGRAM.negativeDelta);
      writeBuckets(out, exponential.positive, change, HISTOGRAM.positiveSpan, HISTOGRAM.positiveDelta);
    }
  }
  out.end();
}

/**
 * One side's buckets as spans and deltas. OpenTelemetry's bucket i is (base^i, base^(i+1)];
 * Prometheus calls that bucket i + 1. `change` lowers the scale first (bucket i -> i >> change).
 */
function writeBuckets(
  out: ProtobufWriter,
  buckets: { offset: number; bucketCounts: number[] },
  change: number,
  spanField: number,
  deltaField: number,
): void {
  let offset = buckets.offset;
  let counts = buckets.bucketCounts;
  if (change > 0 && counts.length > 0) {
    const low = offset >> change;
    const merged = new Array<number>(((offset + counts.length - 1) >> change) - low + 1).fill(0);
    for (let i = 0; i < counts.length; i++) merged[((offset + i) >> change) - low]! += counts[i]!;
    offset = low;
    counts = merged;
  }
  // Spans over the non-empty buckets; short gaps are kept inside a span as zero counts.
  const spans: number[] = []; // [start index, length, ...]
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    const last = spans.length - 2;
    if (last >= 0 && i - (spans[last]! + spans[last + 1]!) <= MAX_GAP_IN_SPAN) {
      spans[last + 1] = i - spans[last]! + 1;
    } else {
      spans.push(i, 1);
    }
  }
  let previousEnd = 0;
  for (let s = 0; s < spans.length; s += 2) {
    const start = offset + 1 + spans[s]!;
    out.begin(spanField);
    // The first span's offset is its index; each later one's is the gap after the previous span.
    out.sintField(SPAN.offset, s === 0 ? start : start - previousEnd);
    out.uint64Field(SPAN.length, spans[s + 1]!);
    out.end();
    previousEnd = start + spans[s + 1]!;
  }
  let previous = 0;
  for (let s = 0; s < spans.length; s += 2) {
    for (let i = spans[s]!; i < spans[s]! + spans[s + 1]!; i++) {
      out.sintField(deltaField, counts[i]! - previous);
      previous = counts[i]!;
    }
  }
}
