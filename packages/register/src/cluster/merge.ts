// Merges the processes' metrics into one set by the merge rules, and keeps the totals of workers that exited. Pure: no I/O, no clock.
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { DataPointType, type DataPoint, type Histogram, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { debug } from '../warn.js';
import { addExponential } from './exponential.js';
import { mergeRule, type MergeRule } from './merge-rule.js';

/** The attribute that tells processes apart on per-process series (Prometheus: nodejs_cluster_worker). */
export const WORKER_ATTRIBUTE = 'nodejs.cluster.worker';
/** The label value of the primary's own per-process series. */
export const PRIMARY = 'primary';

/** What one process contributes to a merge; `label` marks its per-process series. */
export interface Contribution {
  /** Its per-process series get nodejs.cluster.worker = label; none when undefined (a process alone). */
  label: string | undefined;
  scopes: readonly ScopeMetrics[];
  /** Only its totals count: a worker that exited, whose last messages may still come. */
  totalsOnly?: boolean;
}

type Point = DataPoint<number> | DataPoint<Histogram>;

/** One output metric being built: summed points by attribute set, or points as they come. */
interface Accumulator {
  scope: InstrumentationScope;
  metric: MetricData;
  rule: MergeRule;
  /** total, level */
  byAttributes: Map<string, Point>;
  /** per-process (labelled), machine (as they are) */
  listed: Point[];
  /** machine: the contribution the points came from. */
  source?: string;
}

/**
 * Merges the contributions of a cluster's processes, and keeps the totals of the workers that
 * have exited. The inputs are never modified: a worker's last snapshot is merged again on every
 * scrape until a newer one arrives.
 */
export class ClusterMerge {
  /** Totals of exited workers, by metric. Bounded by the series they had (attributes are bounded). */
  readonly #retired = new Map<string, Accumulator>();

  /** Folds the totals (counters, histograms) of a worker that exited into the retired sum. */
  retire(scopes: readonly ScopeMetrics[]): void {
    for (const { scope, metrics } of scopes) {
      for (const metric of metrics) {
        if (mergeRule(scope, metric) !== 'total') continue;
        const acc = accumulator(this.#retired, scope, metric, 'total');
        for (const point of metric.dataPoints) addPoint(acc, point as Point);
      }
    }
  }

  merge(contributions: readonly Contribution[], endTime: HrTime): ScopeMetrics[] {
    const out = new Map<string, Accumulator>();
    for (const { label, scopes, totalsOnly } of contributions) {
      for (const { scope, metrics } of scopes) {
        for (const metric of metrics) {
          const rule = mergeRule(scope, metric);
          if (totalsOnly === true && rule !== 'total') continue;
          const acc = accumulator(out, scope, metric, rule);
          if (rule === 'machine') {
            acc.source ??= label;
            if (acc.source !== label) continue;
          }
          for (const point of metric.dataPoints as Point[]) {
            if (rule === 'per-process' && label !== undefined) {
              acc.listed.push({ ...point, endTime, attributes: { ...point.attributes, [WORKER_ATTRIBUTE]: label } } as Point);
            } else if (rule === 'machine' || rule === 'per-process') {
              acc.listed.push({ ...point, endTime } as Point);
            } else {
              addPoint(acc, point);
            }
          }
        }
      }
    }
    for (const retired of this.#retired.values()) {
      const acc = accumulator(out, retired.scope, retired.metric, 'total');
      for (const point of retired.byAttributes.values()) addPoint(acc, point);
    }

    const scopes = new Map<string, ScopeMetrics>();
    for (const acc of out.values()) {
      const points = acc.rule === 'per-process' || acc.rule === 'machine' ? acc.listed : [...acc.byAttributes.values()].map((p) => ({ ...p, endTime }));
      if (points.length === 0) continue;
      const key = scopeKey(acc.scope);
      let scopeMetrics = scopes.get(key);
      if (scopeMetrics === undefined) {
        scopeMetrics = { scope: acc.scope, metrics: [] };
        scopes.set(key, scopeMetrics);
      }
      scopeMetrics.metrics.push({ ...acc.metric, dataPoints: points } as MetricData);
    }
    return [...scopes.values()];
  }
}

const scopeKey = (scope: InstrumentationScope): string => `${scope.name}\0${scope.version ?? ''}\0${scope.schemaUrl ?? ''}`;

function metricKey(scope: InstrumentationScope, metric: MetricData): string {
  const monotonic = metric.dataPointType === DataPointType.SUM && metric.isMonotonic;
  return `${scopeKey(scope)}\0${metric.descriptor.name}\0${metric.dataPointType}\0${monotonic}`;
}

function accumulator(map: Map<string, Accumulator>, scope: InstrumentationScope, metric: MetricData, rule: MergeRule): Accumulator {
  const key = metricKey(scope, metric);
  let acc = map.get(key);
  if (acc === undefined) {
    acc = { scope, metric, rule, byAttributes: new Map(), listed: [] };
    map.set(key, acc);
  }
  return acc;
}

/** Order-independent identity of an attribute set. */
function attributesKey(attributes: Attributes): string {
  let key = '';
  for (const name of Object.keys(attributes).sort()) key += `${JSON.stringify(name)}:${JSON.stringify(attributes[name])},`;
  return key;
}

const earlier = (a: HrTime, b: HrTime): HrTime => (a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]) ? a : b);

/** Adds a point into the accumulator, copying it first: inputs stay untouched. */
function addPoint(acc: Accumulator, point: Point): void {
  const key = attributesKey(point.attributes);
  const current = acc.byAttributes.get(key);
  if (current === undefined) {
    acc.byAttributes.set(key, copyPoint(point));
    return;
  }
  const startTime = earlier(current.startTime, point.startTime);
  if (typeof point.value === 'number') {
    acc.byAttributes.set(key, { ...current, startTime, value: (current.value as number) + point.value } as Point);
    return;
  }
  const a = current.value as Histogram;
  const b = point.value;
  const boundaries = a.buckets.boundaries;
  if (boundaries.length !== b.buckets.boundaries.length || boundaries.some((x, i) => x !== b.buckets.boundaries[i])) {
    // Only when processes run different versions of the app; the first one's buckets win.
    debug('cluster: %s has different bucket boundaries in two processes; one is left out', acc.metric.descriptor.name);
    return;
  }
  // `a` is already a copy of its own (copyPoint), so it is updated in place.
  for (let i = 0; i < a.buckets.counts.length; i++) a.buckets.counts[i]! += b.buckets.counts[i] ?? 0;
  a.count += b.count;
  a.sum = a.sum === undefined || b.sum === undefined ? undefined : a.sum + b.sum;
  a.min = a.min === undefined || b.min === undefined ? undefined : Math.min(a.min, b.min);
  a.max = a.max === undefined || b.max === undefined ? undefined : Math.max(a.max, b.max);
  // Native buckets only when every process had them (all run this version of mon).
  addExponential(a, b);
  acc.byAttributes.set(key, { ...current, startTime });
}

function copyPoint(point: Point): Point {
  if (typeof point.value === 'number') return { ...point } as Point;
  const h = point.value;
  return { ...point, value: { ...h, buckets: { boundaries: h.buckets.boundaries, counts: h.buckets.counts.slice() } } } as Point;
}
