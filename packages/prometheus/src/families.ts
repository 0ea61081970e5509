// Metrics -> Prometheus metric families: the names, types and members both expositions (text and
// protobuf) render. Pure: no I/O.
import { DataPointType, type MetricData, type MetricDescriptor, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { prometheusMetricName, type MetricKind } from './names.js';

/** The scope type of whichever sdk-metrics the app brings (2.x and 3.x both work), not @opentelemetry/core's. */
export type InstrumentationScope = ScopeMetrics['scope'];

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface Family {
  /** Sample name; for counters it ends in `_total`. */
  name: string;
  type: FamilyType;
  /** The first one gives HELP and UNIT. */
  members: MetricData[];
  scopes: InstrumentationScope[];
}

// Metrics of the same Prometheus name (the same instrument from several scopes) become one family,
// so the output has one TYPE/HELP per name, which Prometheus and promtool require. Exponential
// histograms join only where they can be shown (`withExponential`: the protobuf exposition, as
// native histograms).
export function groupFamilies(
  resourceMetrics: ResourceMetrics,
  withTargetInfo: boolean,
  onDrop: ((metricName: string, reason: string) => void) | undefined,
  withExponential = false,
): Family[] {
  const byName = new Map<string, Family>();
  const families: Family[] = [];
  // Every name a family's samples or metadata use, so two families can never emit the same
  // series (a gauge `x_count` next to a histogram `x`; a gauge `x` next to OpenMetrics counter `x`).
  const taken = new Set<string>(withTargetInfo ? ['target', 'target_info'] : []);
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.dataPoints.length === 0) continue;
      const type = familyType(metric, withExponential);
      if (type === undefined) {
        onDrop?.(
          metric.descriptor.name,
          'exponential histograms have no text exposition (Prometheus reads them as native histograms, over protobuf); use explicit buckets',
        );
        continue;
      }
      const name = metricName(metric);
      // `total` alone would leave an OpenMetrics counter without a family name.
      if (name === '' || name === 'total') {
        onDrop?.(metric.descriptor.name, 'no valid Prometheus name is left after translation');
        continue;
      }
      const family = byName.get(name);
      if (family !== undefined) {
        if (family.type === type) {
          family.members.push(metric);
          family.scopes.push(scope);
        } else {
          onDrop?.(name, `already exposed as a ${family.type}; this ${type} of scope "${scope.name}" is left out`);
        }
        continue;
      }
      const names = namesUsed(name, type);
      if (names.some((n) => taken.has(n))) {
        onDrop?.(name, 'its series names clash with another metric (or target_info)');
        continue;
      }
      for (const n of names) taken.add(n);
      const created: Family = { name, type, members: [metric], scopes: [scope] };
      byName.set(name, created);
      families.push(created);
    }
  }
  return families;
}

function namesUsed(name: string, type: FamilyType): string[] {
  if (type === 'counter') return [name.slice(0, -'_total'.length), name];
  if (type === 'histogram') return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  return [name];
}

function familyType(metric: MetricData, withExponential: boolean): FamilyType | undefined {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return withExponential ? 'histogram' : undefined;
    default:
      return undefined;
  }
}

export function metricKind(metric: MetricData): MetricKind {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'monotonic-sum' : 'non-monotonic-sum';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'exponential-histogram';
  }
}

// The SDK hands out the same descriptor object on every collection, so the name is computed once.
const nameCache = new WeakMap<MetricDescriptor, { kind: MetricKind; name: string }>();

function metricName(metric: MetricData): string {
  const kind = metricKind(metric);
  const cached = nameCache.get(metric.descriptor);
  if (cached !== undefined && cached.kind === kind) return cached.name;
  const name = prometheusMetricName(metric.descriptor.name, metric.descriptor.unit, kind);
  nameCache.set(metric.descriptor, { kind, name });
  return name;
}

