// ResourceMetrics -> Prometheus text 0.0.4 or OpenMetrics 1.0 exposition. Pure: no I/O, no clock.
// Runs on every scrape, so samples are appended to strings (V8 ropes, flattened when written) and
// per-metric work (names, `le` labels) is done once per metric, not per series. The text comes out
// in chunks of about CHUNK_LENGTH: one string of a large exposition (1.35 MB at 10 000 series) cost
// 2.2 ms of flattening in one go when written, and its garbage grew faster than the series did
// (10k -> 100k series took 18-22x the time); chunks can be written one per event-loop turn.
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type HistogramMetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { groupFamilies, type Family, type InstrumentationScope } from './families.js';
import { collidingLabelPairs, labelEntry, labelValue, reservedLabels, TARGET_INFO_HELP, targetInfoAttributes, type RenderState } from './labels.js';
import { familyUnit } from './names.js';


/** `text`: Prometheus text format 0.0.4. `openmetrics`: OpenMetrics 1.0.0. */
export type ExpositionFormat = 'text' | 'openmetrics';

export interface SerializeOptions {
  /** Default `text`. */
  format?: ExpositionFormat;
  /**
   * Add `otel_scope_name` / `otel_scope_version` labels to every series. Default false: with them,
   * upgrading a library changes the identity of every series it records.
   */
  withScopeLabels?: boolean;
  /** Emit `target_info` with the resource attributes as labels. Default true. */
  withTargetInfo?: boolean;
  /** Told about each metric or series left out, and why. */
  onDrop?: (metricName: string, reason: string) => void;
}


/** About how many UTF-16 code units go into one chunk of serializeChunks (64 Ki). */
export const CHUNK_LENGTH = 65_536;

/** Appends strings; `full` once the text reached CHUNK_LENGTH, then `take()` hands it over. */
class Chunks {
  text = '';

  add(text: string): void {
    this.text += text;
  }

  get full(): boolean {
    return this.text.length >= CHUNK_LENGTH;
  }

  take(): string {
    const text = this.text;
    this.text = '';
    return text;
  }
}

/** Renders one collection as exposition text; metrics that cannot be shown go to `onDrop`. */
export function serialize(resourceMetrics: ResourceMetrics, options: SerializeOptions = {}): string {
  let text = '';
  for (const chunk of serializeChunks(resourceMetrics, options)) text += chunk;
  return text;
}

/**
 * serialize() rendered lazily, a piece of at least CHUNK_LENGTH code units (but the last) per
 * next(): a scrape writes each piece before the next is rendered, so the text of a large exposition
 * never exists all at once and its garbage dies young. Always yields at least one piece ('' when
 * there is nothing to show). The ResourceMetrics must not change while it is being read.
 */
export function* serializeChunks(resourceMetrics: ResourceMetrics, options: SerializeOptions = {}): Generator<string, void> {
  const om = options.format === 'openmetrics';
  const withTargetInfo = options.withTargetInfo !== false;
  const withScopeLabels = options.withScopeLabels === true;
  const onDrop = options.onDrop;

  const families = groupFamilies(resourceMetrics, withTargetInfo, onDrop);
  const out = new Chunks();
  if (withTargetInfo) out.add(targetInfo(resourceMetrics.resource.attributes, om));
  for (const family of families) yield* renderFamily(family, om, withScopeLabels, onDrop, out);
  if (om) out.add('# EOF\n');
  yield out.take();
}

function* renderFamily(
  family: Family,
  om: boolean,
  withScopeLabels: boolean,
  onDrop: SerializeOptions['onDrop'],
  out: Chunks,
): Generator<string, void> {
  const { name, type } = family;
  const first = family.members[0]!;
  const metadataName = om && type === 'counter' ? name.slice(0, -'_total'.length) : name;
  const help = escapeHelp(first.descriptor.description || first.descriptor.name, om);
  if (om) {
    out.add(`# TYPE ${metadataName} ${type}\n`);
    const unit = familyUnit(name, first.descriptor.unit, type === 'counter');
    if (unit !== '') out.add(`# UNIT ${metadataName} ${unit}\n`);
    out.add(`# HELP ${metadataName} ${help}\n`);
  } else {
    out.add(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
  }

  // The same series must never appear twice. The SDK gives distinct attribute sets, so that can only
  // happen when a family merges several scopes, or when rendering lost information (see
  // renderAttributes). Only then are label sets remembered: hashing every one costs a third of the
  // serialization time at 10 000 series. The first lossy label set met while not remembering may
  // equal an earlier one: the label sets rendered so far are remembered from there on (rendered
  // again, once), and later twins are left out, as they would have been had they been remembered
  // from the start.
  let seen = family.members.length > 1 && !withScopeLabels ? new Set<string>() : undefined;
  const state: RenderState = { lossy: false, stringKeys: new Map() };
  for (let m = 0; m < family.members.length; m++) {
    const metric = family.members[m]!;
    const scopeLabels = withScopeLabels ? renderScopeLabels(family.scopes[m]!) : '';
    const histogram = metric.dataPointType === DataPointType.HISTOGRAM;
    if (!histogram && metric.dataPointType !== DataPointType.SUM && metric.dataPointType !== DataPointType.GAUGE) continue;
    const reserved = reservedLabels(histogram, withScopeLabels);
    const points = metric.dataPoints as ReadonlyArray<{ attributes: Attributes }>;
    const les = histogram ? new LeLabels() : undefined;
    for (let p = 0; p < points.length; p++) {
      const point = points[p]!;
      const inner = joinLabels(renderAttributes(point.attributes, reserved, state), scopeLabels);
      if (seen === undefined && state.lossy) seen = labelSetsBefore(family, m, p, withScopeLabels);
      if (seen !== undefined) {
        if (seen.has(inner)) {
          onDrop?.(name, `duplicate series {${inner}}`);
          continue;
        }
        seen.add(inner);
      }
      if (les !== undefined) {
        out.add(histogramText(name, (point as HistogramMetricData['dataPoints'][number]).value, inner, les));
      } else {
        out.add(name + (inner === '' ? ' ' : '{' + inner + '} ') + formatNumber((point as unknown as { value: number }).value) + '\n');
      }
      if (out.full) yield out.take();
    }
  }
}


/** The label sets of the points before member m's point p, as rendered. */
function labelSetsBefore(family: Family, m: number, p: number, withScopeLabels: boolean): Set<string> {
  const seen = new Set<string>();
  const scratch: RenderState = { lossy: false, stringKeys: new Map() };
  for (let i = 0; i <= m; i++) {
    const metric = family.members[i]!;
    const histogram = metric.dataPointType === DataPointType.HISTOGRAM;
    if (!histogram && metric.dataPointType !== DataPointType.SUM && metric.dataPointType !== DataPointType.GAUGE) continue;
    const reserved = reservedLabels(histogram, withScopeLabels);
    const scopeLabels = withScopeLabels ? renderScopeLabels(family.scopes[i]!) : '';
    const points = metric.dataPoints as ReadonlyArray<{ attributes: Attributes }>;
    const end = i === m ? p : points.length;
    for (let k = 0; k < end; k++) seen.add(joinLabels(renderAttributes(points[k]!.attributes, reserved, scratch), scopeLabels));
  }
  return seen;
}

/** The `le="…"} ` label texts of a histogram's boundaries, rendered once per boundaries array. */
class LeLabels {
  boundaries: number[] | undefined;
  texts: string[] = [];

  of(boundaries: number[]): string[] {
    // Points of one metric share their boundaries array.
    if (boundaries !== this.boundaries) {
      this.boundaries = boundaries;
      this.texts = boundaries.map((b) => `le="${canonicalFloat(b)}"} `);
    }
    return this.texts;
  }
}

/** One histogram series: its buckets, then _sum and _count. */
function histogramText(name: string, h: HistogramMetricData['dataPoints'][number]['value'], inner: string, les: LeLabels): string {
  const bucketName = name + '_bucket';
  const boundaries = h.buckets.boundaries;
  const texts = les.of(boundaries);
  const open = inner === '' ? bucketName + '{' : bucketName + '{' + inner + ',';
  const counts = h.buckets.counts;
  let cumulative = 0;
  let text = '';
  for (let i = 0; i < texts.length; i++) {
    cumulative += counts[i] ?? 0;
    // A user-supplied +Inf (or NaN) boundary would duplicate the +Inf bucket below.
    const bound = boundaries[i]!;
    if (bound === Infinity || bound !== bound) continue;
    text += open + texts[i] + cumulative + '\n';
  }
  text += open + 'le="+Inf"} ' + h.count + '\n';
  // OpenMetrics: _count appears if and only if _sum does; the SDK has no sum for instruments
  // that may record negative values.
  if (h.sum !== undefined) {
    const block = inner === '' ? ' ' : '{' + inner + '} ';
    text += name + '_sum' + block + formatNumber(h.sum) + '\n';
    text += name + '_count' + block + h.count + '\n';
  }
  return text;
}

function targetInfo(attributes: Attributes, om: boolean): string {
  const inner = renderAttributes(targetInfoAttributes(attributes), undefined, { lossy: false, stringKeys: new Map() });
  if (inner === '') return '';
  const sample = `target_info{${inner}} 1\n`;
  return om
    ? `# TYPE target info\n# HELP target ${TARGET_INFO_HELP}\n${sample}`
    : `# HELP target_info ${TARGET_INFO_HELP}\n# TYPE target_info gauge\n${sample}`;
}

function renderScopeLabels(scope: InstrumentationScope): string {
  let labels = `otel_scope_name="${escapeLabelValue(scope.name.toWellFormed())}"`;
  if (scope.version) labels += `,otel_scope_version="${escapeLabelValue(scope.version.toWellFormed())}"`;
  return labels;
}

function joinLabels(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : a + ',' + b;
}

/**
 * `a="x",b="y"` without braces. Attributes without a value or with an empty one are left out:
 * Prometheus treats `a=""` as no label, so writing it would make two spellings of one series.
 * Marks `state.lossy` whenever two different attribute sets could come out alike.
 */
function renderAttributes(
  attributes: Attributes,
  reserved: ReadonlySet<string> | undefined,
  state: RenderState,
): string {
  let out = '';
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) {
      state.lossy = true;
      continue;
    }
    const entry = labelEntry(key);
    if (entry.ambiguous) return renderCollidingAttributes(attributes, reserved, state);
    const label = entry.label;
    const text = labelValue(key, value, label, reserved, state);
    if (text === undefined) continue;
    out += (out === '' ? label : ',' + label) + '="' + escapeLabelValue(text) + '"';
  }
  return out;
}

// Rare path: several keys sanitize to one label name (labels.ts).
function renderCollidingAttributes(
  attributes: Attributes,
  reserved: ReadonlySet<string> | undefined,
  state: RenderState,
): string {
  const pairs = collidingLabelPairs(attributes, reserved, state);
  let out = '';
  for (let i = 0; i < pairs.length; i += 2) out += (out === '' ? pairs[i] : ',' + pairs[i]) + '="' + escapeLabelValue(pairs[i + 1]!) + '"';
  return out;
}

const LABEL_ESCAPE_TEST = /[\\"\n]/;
const LABEL_ESCAPE = /[\\"\n]/g;
const HELP_ESCAPE_TEST = /[\\\n]/;
const HELP_ESCAPE = /[\\\n]/g;
const OM_HELP_ESCAPE_TEST = /[\\"\n]/;
const OM_HELP_ESCAPE = /[\\"\n]/g;

function escapeChar(c: string): string {
  return c === '\n' ? '\\n' : '\\' + c;
}

/** Escapes a well-formed label value. */
function escapeLabelValue(value: string): string {
  return LABEL_ESCAPE_TEST.test(value) ? value.replace(LABEL_ESCAPE, escapeChar) : value;
}

// Text 0.0.4 HELP knows only `\\` and `\n` (`\"` is an error there); OpenMetrics also needs `\"`.
function escapeHelp(help: string, om: boolean): string {
  const v = help.isWellFormed() ? help : help.toWellFormed();
  if (om) return OM_HELP_ESCAPE_TEST.test(v) ? v.replace(OM_HELP_ESCAPE, escapeChar) : v;
  return HELP_ESCAPE_TEST.test(v) ? v.replace(HELP_ESCAPE, escapeChar) : v;
}

/**
 * A label value that is a number (`le`), in the canonical form Prometheus' own client libraries
 * write (Go's strconv 'g' format with the shortest digits, `.0` added when it has neither a point
 * nor an exponent; Python's floatToGoString does the same), so one bucket has one spelling whichever
 * library exposed it: `1.0`, `10.0`, `0.005`, `1e-05`, `100000.0`, `1e+06`.
 */
export function canonicalFloat(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // toExponential() gives the shortest round-trip digits, the ones Go picks with precision -1. Go
  // writes them with an exponent when it is below -4 or at least 6 (its rule for shortest %g).
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const text = String(value);
  return text.includes('.') ? text : text + '.0';
}

function formatNumber(value: number): string {
  if (Number.isFinite(value)) return '' + value;
  return value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : 'NaN';
}
