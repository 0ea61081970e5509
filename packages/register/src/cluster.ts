// node:cluster: one /metrics for the whole cluster, served by the primary.
//
// Every process (the primary and each worker) builds its own pipeline; they differ in who serves.
// - A worker binds no port. It answers the primary's collect requests over the cluster's IPC
//   channel with its own cumulative metrics, and between scrapes pushes its pre-aggregated (HTTP)
//   metrics when they changed, every 100 ms to 1 s (PUSH_MIN_INTERVAL_MS), so a worker that dies
//   (SIGKILL, OOM, a crash, a graceful disconnect) loses that much of its requests rather than a
//   scrape interval. Its SDK instruments (the app's own, GC, CPU time) are read at scrapes only:
//   reading them resets interval values (event loop delay, CPU utilization), which must cover the
//   time between scrapes; what they gathered since the last scrape dies with the worker.
// - Every other process may fork workers at any time, so it serves /metrics through
//   ClusterPrimary: a MetricProducer that collects the process itself, asks each worker that said
//   hello, waits at most COLLECT_TIMEOUT_MS (a hung worker counts with its last known values, and
//   is not waited for again until it answers), and merges. With no worker ever seen, it hands on
//   its own collection untouched.
//
// Merge rules follow the OpenTelemetry data model (sums and histograms are additive, gauges not):
// - totals, monotonic counters and histograms: summed over processes with equal attributes. The
//   last totals of a worker that exits are kept in a retired sum, so they never go backwards.
// - levels, the other up-down counters (http.server.active_requests, an app's queue length): summed
//   over the live processes; a dead worker's requests are no longer in flight.
// - per process, gauges and the process.*, nodejs.*, v8js.* up-down counters (RSS, heap, file
//   descriptors): a sum would hide the one worker that leaks, so one series per process, labelled
//   nodejs.cluster.worker = "primary" or a slot "0".."N-1" that the primary hands out and reuses
//   when a worker is replaced (never the ever-growing worker.id or pid).
// - machine, system.*: the same machine seen from any process; the primary's, unlabelled. Workers
//   do not record them at all (WORKER_VIEWS, workerHostGroups).
//
// Messages carry `cmd: 'NODE_MON'`. Node hands `NODE_`-prefixed cmds to the 'internalMessage'
// event instead of 'message' (documented in child_process, "subject to change"; it has not since
// Node 0.x and test/cluster.e2e.test.ts checks it), so the app's own 'message' handlers on either
// side never see mon's traffic, and a primary without mon ignores a worker's hello.
import type { ChildProcess } from 'node:child_process';
import cluster, { type Worker } from 'node:cluster';
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationType,
  DataPointType,
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricCollectOptions,
  type MetricData,
  type MetricProducer,
  type MetricReaderOptions,
  type ScopeMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import type { HistogramWithExponential } from '@mon/prometheus';
import { combineSnapshots, type ExponentialSnapshot } from './exponential-buckets.js';
import { debug, describe, warn } from './warn.js';

/** The attribute that tells processes apart on per-process series (Prometheus: nodejs_cluster_worker). */
export const WORKER_ATTRIBUTE = 'nodejs.cluster.worker';
/** The label value of the primary's own per-process series. */
export const PRIMARY = 'primary';
/** A scrape waits at most this long for the workers; a late one counts with its last known values. */
export const COLLECT_TIMEOUT_MS = 1_000;
/**
 * How often a worker pushes its pre-aggregated (HTTP) metrics, which bounds what its death loses.
 * While they change: as often as PUSH_CPU_SHARE of a core allows, within the two bounds. A push
 * costs ~0.2 ms of CPU in a busy worker with a few series (so: every 100 ms) and ~1-2 ms with
 * 300 (every 0.5-1 s). While they do not change: backing off to the maximum.
 * Measured on 2 cores, 2 workers at ~1 500 requests/s each, 8 worker deaths (SIGKILL or graceful
 * disconnect): a fixed 1 s interval lost ~1 150 requests per death, 250 ms ~300, this ~100-170.
 */
export const PUSH_MIN_INTERVAL_MS = 100;
export const PUSH_MAX_INTERVAL_MS = 1_000;
const PUSH_CPU_SHARE = 0.002;
/** A worker that hears nothing from a primary within this long says that nobody serves its metrics. */
const NO_PRIMARY_WARNING_MS = 5_000;
// Hung observable callbacks in a process must not hang its answer (the Prometheus reader's bound).
const OWN_COLLECT_TIMEOUT_MS = 5_000;
const CMD = 'NODE_MON';
const PROTOCOL = 1;

export const isClusterWorker: boolean = cluster.isWorker;

/** Host metric groups a worker starts: 'disk' is system-wide only (filesystems, disk I/O). */
export function workerHostGroups<G extends string>(groups: Iterable<G>): G[] {
  return [...groups].filter((g) => g !== 'disk');
}

/**
 * Views for a worker's MeterProvider. The 'cpu' and 'memory' groups also hold process.cpu.* and
 * process.memory.usage, which workers must keep, so their system.* halves are dropped here; their
 * callbacks still read /proc/stat and meminfo at each collection (~30 µs).
 */
export const WORKER_VIEWS: ViewOptions[] = [{ instrumentName: 'system.*', aggregation: { type: AggregationType.DROP } }];

// ---------------------------------------------------------------------------------------------
// Reading one process's own metrics on demand

/** A cumulative reader that collects only when asked: by a scrape of the primary, or over IPC. */
export class OnDemandReader extends MetricReader {
  readonly #onShutdown: (() => Promise<void>) | undefined;

  constructor(options: MetricReaderOptions & { onShutdown?: () => Promise<void> } = {}) {
    const { onShutdown, ...readerOptions } = options;
    super(readerOptions);
    this.#onShutdown = onShutdown;
  }

  protected override async onShutdown(): Promise<void> {
    await this.#onShutdown?.();
  }

  protected override async onForceFlush(): Promise<void> {
    // Pull: nothing to push.
  }
}

// ---------------------------------------------------------------------------------------------
// Wire format: JSON-safe (JSON has no NaN or Infinity; a cluster may use either IPC
// serialization). End times are left out: the primary stamps its own, and a push whose data did
// not change then encodes to the same string, which is how a worker knows not to send it.

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
const fromWire = (n: WireNumber): number => (typeof n === 'number' ? n : Number(n));

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
              ...exponentialToWire((p.value as HistogramWithExponential).exponential),
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

/** The inverse of encodeScopes; every point gets `endTime`. */
export function decodeScopes(json: string, endTime: HrTime): ScopeMetrics[] {
  const wire = JSON.parse(json) as WireScope[];
  return wire.map(({ scope, metrics }) => ({
    scope,
    metrics: metrics.map((m): MetricData => {
      const base = { descriptor: m.descriptor, aggregationTemporality: m.aggregationTemporality };
      if (m.dataPointType === DataPointType.HISTOGRAM) {
        return {
          ...base,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: m.points.map((p) => {
            const h = p.value as WireHistogram;
            const value: Histogram = { buckets: { boundaries: h.boundaries, counts: h.counts }, count: h.count };
            if (h.sum !== undefined) value.sum = fromWire(h.sum);
            if (h.min !== undefined) value.min = fromWire(h.min);
            if (h.max !== undefined) value.max = fromWire(h.max);
            if (h.exponential !== undefined) (value as HistogramWithExponential).exponential = exponentialOf(value, h.exponential);
            return { startTime: p.startTime, endTime, attributes: p.attributes, value };
          }),
        };
      }
      const dataPoints = m.points.map((p) => ({
        startTime: p.startTime,
        endTime,
        attributes: p.attributes,
        value: fromWire(p.value as WireNumber),
      }));
      return m.dataPointType === DataPointType.SUM
        ? { ...base, dataPointType: DataPointType.SUM, isMonotonic: m.isMonotonic === true, dataPoints }
        : { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
    }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Merging (pure: no I/O, no clock)

export type MergeRule = 'total' | 'level' | 'per-process' | 'machine';

const PER_PROCESS_NAMESPACES = /^(?:process|nodejs|v8js)\./;

export function mergeRule(metric: MetricData): MergeRule {
  // The same machine seen from every process: the first contribution (the primary) has it.
  if (metric.descriptor.name.startsWith('system.')) return 'machine';
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'total';
  if (metric.dataPointType === DataPointType.SUM) {
    if (metric.isMonotonic) return 'total';
    return PER_PROCESS_NAMESPACES.test(metric.descriptor.name) ? 'per-process' : 'level';
  }
  return 'per-process';
}

/** What one process contributes to a merge; `label` marks its per-process series. */
export interface Contribution {
  label: string;
  scopes: readonly ScopeMetrics[];
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
        if (mergeRule(metric) !== 'total') continue;
        const acc = accumulator(this.#retired, scope, metric, 'total');
        for (const point of metric.dataPoints) addPoint(acc, point as Point);
      }
    }
  }

  merge(contributions: readonly Contribution[], endTime: HrTime): ScopeMetrics[] {
    const out = new Map<string, Accumulator>();
    for (const { label, scopes } of contributions) {
      for (const { scope, metrics } of scopes) {
        for (const metric of metrics) {
          const rule = mergeRule(metric);
          const acc = accumulator(out, scope, metric, rule);
          if (rule === 'machine') {
            acc.source ??= label;
            if (acc.source !== label) continue;
          }
          for (const point of metric.dataPoints as Point[]) {
            if (rule === 'per-process') {
              acc.listed.push({ ...point, endTime, attributes: { ...point.attributes, [WORKER_ATTRIBUTE]: label } } as Point);
            } else if (rule === 'machine') {
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
  const aExponential = (a as HistogramWithExponential).exponential;
  const bExponential = (b as HistogramWithExponential).exponential;
  (a as HistogramWithExponential).exponential =
    aExponential === undefined || bExponential === undefined
      ? undefined
      : exponentialOf(a, combineSnapshots(snapshotOf(aExponential), snapshotOf(bExponential), 1));
  acc.byAttributes.set(key, { ...current, startTime });
}

function copyPoint(point: Point): Point {
  if (typeof point.value === 'number') return { ...point } as Point;
  const h = point.value;
  return { ...point, value: { ...h, buckets: { boundaries: h.buckets.boundaries, counts: h.buckets.counts.slice() } } } as Point;
}

function snapshotOf(e: ExponentialHistogram): ExponentialSnapshot {
  return { scale: e.scale, zeroCount: e.zeroCount, offset: e.positive.offset, bucketCounts: e.positive.bucketCounts };
}

/** A histogram's exponential form: its own count, sum, min and max, with these buckets. */
function exponentialOf(h: Histogram, s: ExponentialSnapshot): ExponentialHistogram {
  return {
    count: h.count,
    ...(h.sum === undefined ? {} : { sum: h.sum }),
    ...(h.min === undefined ? {} : { min: h.min }),
    ...(h.max === undefined ? {} : { max: h.max }),
    scale: s.scale,
    zeroCount: s.zeroCount,
    positive: { offset: s.offset, bucketCounts: s.bucketCounts.slice() },
    negative: { offset: 0, bucketCounts: [] },
  };
}

// Durations are never negative: the negative side is not carried.
function exponentialToWire(e: ExponentialHistogram | undefined): { exponential?: ExponentialSnapshot } {
  return e === undefined ? {} : { exponential: snapshotOf(e) };
}

// ---------------------------------------------------------------------------------------------
// IPC

// Set while a peek (register's `peek`: the live page's /metrics?peek=1) runs its collection: the
// primary then asks its workers for a peek too. Read synchronously at the start of a collection.
let peeking = false;

/** Runs `collect` (called synchronously) as a peek, for this process and its workers. */
export function asPeek<T>(collect: () => T): T {
  const was = peeking;
  peeking = true;
  try {
    return collect();
  } finally {
    peeking = was;
  }
}

interface Message {
  cmd: typeof CMD;
  type: 'hello' | 'welcome' | 'collect' | 'metrics';
  version?: number;
  /** collect: the request; metrics: the requests this answers. */
  id?: number;
  /**
   * collect: a peek (the live page's poll): the worker's interval metrics start no new interval.
   * metrics: this answers peeks.
   */
  peek?: boolean;
  ids?: number[];
  /** metrics: the SDK's scopes (answers only) and the producers' scopes, each with a sequence number. */
  sdk?: string;
  sdkSeq?: number;
  /** metrics: what failed in the worker's collection (a throwing callback), for the primary to report. */
  errors?: Array<{ name: string; message: string }>;
  produced?: string;
  producedSeq?: number;
}

function isOurs(message: unknown): message is Message {
  return typeof message === 'object' && message !== null && (message as { cmd?: unknown }).cmd === CMD;
}

/** Sends without ever throwing or emitting 'error' (a send on a closed channel does without a callback). */
function send(target: Pick<ChildProcess, 'send' | 'connected'> | NodeJS.Process, message: Omit<Message, 'cmd'>): boolean {
  if (!target.connected || target.send === undefined) return false;
  try {
    target.send({ cmd: CMD, ...message }, undefined, {}, (error: Error | null) => {
      if (error) debug('cluster: send failed: %s', error.message);
    });
    return true;
  } catch (error) {
    debug('cluster: send failed: %s', describe(error));
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Primary

/** Index of what a worker's collection answered: scrapes, or peeks (their own snapshot). */
const SCRAPE = 0;
const PEEK = 1;
type Kind = typeof SCRAPE | typeof PEEK;

interface WorkerState {
  readonly child: ChildProcess;
  readonly slot: number;
  /** The newest SDK snapshot answering each kind: a scrape never shows a peek's intervals. */
  sdk: [string | undefined, string | undefined];
  sdkSeq: [number, number];
  errors: Error[];
  produced: string | undefined;
  producedSeq: number;
  /** Collect requests waiting for this worker's answer, by id. */
  readonly waiting: Map<number, () => void>;
  /** It let a scrape time out and has not answered since: later scrapes do not wait for it. */
  late: boolean;
}

export interface ClusterPrimaryOptions {
  timeoutMillis?: number;
}

/**
 * The producer behind the primary's /metrics: this process (read by `self`) and its workers.
 * Collections are never on a timer: a scrape asks, and workers push only their cheap
 * pre-aggregated metrics, so interval values (event loop delay, CPU utilization) still cover the
 * time since the previous scrape.
 */
export class ClusterPrimary implements MetricProducer {
  readonly #self: MetricReader;
  readonly #timeoutMillis: number;
  readonly #merge = new ClusterMerge();
  readonly #workers = new Map<ChildProcess, WorkerState>();
  /** slot -> worker; a slot frees when its worker exits and the next worker takes the lowest free one. */
  readonly #slots: Array<WorkerState | undefined> = [];
  #nextId = 0;
  /** Set by the first worker: from then on the process's own per-process series are labelled too. */
  #clustered = false;

  constructor(self: MetricReader, options: ClusterPrimaryOptions = {}) {
    this.#self = self;
    this.#timeoutMillis = options.timeoutMillis ?? COLLECT_TIMEOUT_MS;
  }

  /** Watches for forked workers; returns the function that stops watching. */
  start(): () => void {
    const onFork = (worker: Worker) => this.watch(worker.process);
    cluster.on('fork', onFork);
    return () => cluster.removeListener('fork', onFork);
  }

  /** Listens to one worker's channel (exported for tests: any IPC child works). */
  watch(child: ChildProcess): void {
    const onMessage = (message: unknown) => this.#onMessage(child, message);
    // 'disconnect', not 'exit': a dead worker's last messages may still wait in the pipe when
    // 'exit' comes; 'disconnect' comes once the channel is read to its end, or when the worker
    // disconnects gracefully. After it nothing more can come: the worker's last totals are final.
    child.on('internalMessage', onMessage);
    child.once('disconnect', () => {
      child.removeListener('internalMessage', onMessage);
      this.#retire(child);
    });
  }

  /** Live workers that said hello. */
  get workerCount(): number {
    return this.#workers.size;
  }

  async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    const kind: Kind = peeking ? PEEK : SCRAPE;
    const [own] = await Promise.all([
      this.#self.collect({ timeoutMillis: options?.timeoutMillis ?? OWN_COLLECT_TIMEOUT_MS }),
      this.#askWorkers(kind),
    ]);
    // No worker ever: this process's collection, untouched (a plain app's /metrics is unchanged).
    if (!this.#clustered) return own;
    const now = hrTime();
    const contributions: Contribution[] = [{ label: PRIMARY, scopes: own.resourceMetrics.scopeMetrics }];
    for (const state of this.#slots) {
      if (state === undefined) continue;
      const scopes = this.#decode(state, now, kind);
      if (scopes.length > 0) contributions.push({ label: String(state.slot), scopes });
    }
    return {
      resourceMetrics: { resource: own.resourceMetrics.resource, scopeMetrics: this.#merge.merge(contributions, now) },
      errors: [...own.errors, ...this.#slots.flatMap((state) => state?.errors ?? [])],
    };
  }

  /** A worker's metrics: its snapshot for `kind` (the other one while it has none yet) and its pushes. */
  #decode(state: WorkerState, now: HrTime, kind: Kind): ScopeMetrics[] {
    const scopes: ScopeMetrics[] = [];
    for (const json of [state.sdk[kind] ?? state.sdk[1 - kind], state.produced]) {
      if (json === undefined) continue;
      try {
        scopes.push(...decodeScopes(json, now));
      } catch (error) {
        debug('cluster: unreadable metrics from worker %d: %s', state.slot, describe(error));
      }
    }
    return scopes;
  }

  #onMessage(child: ChildProcess, message: unknown): void {
    if (!isOurs(message)) return;
    if (message.type === 'hello') {
      if (message.version !== PROTOCOL) {
        debug('cluster: worker pid %d speaks protocol %s, not %d; not aggregated', child.pid, message.version, PROTOCOL);
        return;
      }
      if (this.#workers.has(child)) return;
      let slot = this.#slots.indexOf(undefined);
      if (slot === -1) slot = this.#slots.length;
      const state: WorkerState = {
        child,
        slot,
        sdk: [undefined, undefined],
        sdkSeq: [0, 0],
        errors: [],
        produced: undefined,
        producedSeq: 0,
        waiting: new Map(),
        late: false,
      };
      this.#slots[slot] = state;
      this.#workers.set(child, state);
      this.#clustered = true;
      debug('cluster: worker pid %d joined as slot %d', child.pid, slot);
      send(child, { type: 'welcome', version: PROTOCOL });
      return;
    }
    if (message.type !== 'metrics') return;
    const state = this.#workers.get(child);
    if (state === undefined) return;
    // Sequence numbers, because a push can overtake an answer that was collecting meanwhile.
    const kind: Kind = message.peek === true ? PEEK : SCRAPE;
    if (typeof message.sdk === 'string' && (message.sdkSeq ?? 0) > state.sdkSeq[kind]) {
      state.sdk[kind] = message.sdk;
      state.sdkSeq[kind] = message.sdkSeq!;
      state.errors = (message.errors ?? []).map(({ name, message }) => Object.assign(new Error(message), { name }));
    }
    if (typeof message.produced === 'string' && (message.producedSeq ?? 0) > state.producedSeq) {
      state.produced = message.produced;
      state.producedSeq = message.producedSeq!;
    }
    if (message.ids !== undefined) state.late = false;
    for (const id of message.ids ?? []) state.waiting.get(id)?.();
  }

  #retire(child: ChildProcess): void {
    const state = this.#workers.get(child);
    if (state === undefined) return;
    this.#workers.delete(child);
    this.#slots[state.slot] = undefined;
    // Drop trailing free slots so that `slots.length` stays the peak of live workers, not history.
    while (this.#slots.length > 0 && this.#slots[this.#slots.length - 1] === undefined) this.#slots.length--;
    // Its totals from the newer of its two snapshots (both count from the worker's start).
    this.#merge.retire(this.#decode(state, hrTime(), state.sdkSeq[PEEK] > state.sdkSeq[SCRAPE] ? PEEK : SCRAPE));
    debug('cluster: worker pid %d (slot %d) left; its totals are kept', child.pid, state.slot);
    for (const resolve of state.waiting.values()) resolve();
    state.waiting.clear();
  }

  /**
   * Asks every live worker for its metrics; resolves when all answered, or after the timeout. A
   * worker still silent since it let an earlier scrape time out (a blocked event loop) is asked
   * but not waited for: one scrape pays the timeout, not every scrape while the worker is stuck.
   */
  #askWorkers(kind: Kind): Promise<void> {
    const asked = [...this.#workers.values()];
    if (asked.length === 0) return Promise.resolve();
    const id = ++this.#nextId;
    const request = { type: 'collect', id, ...(kind === PEEK ? { peek: true } : {}) } as const;
    const awaited = asked.filter((state) => !state.late);
    for (const state of asked) if (state.late) send(state.child, request);
    if (awaited.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = awaited.length;
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const state of awaited) state.waiting.delete(id);
        resolve();
      };
      const answered = (): void => {
        if (--left === 0) finish();
      };
      // unref: a scrape in progress must not keep the primary alive.
      const timer = setTimeout(() => {
        for (const state of awaited) if (state.waiting.has(id)) state.late = true;
        debug('cluster: %d of %d workers did not answer within %d ms; using their last values', left, awaited.length, this.#timeoutMillis);
        finish();
      }, this.#timeoutMillis);
      timer.unref();
      for (const state of awaited) {
        state.waiting.set(id, answered);
        if (!send(state.child, request)) answered();
      }
    });
  }
}

/**
 * The reader for a non-worker process's MeterProvider when Prometheus is on: it reads the process
 * itself for ClusterPrimary, and the Prometheus reader made by `serve` sits on a MeterProvider of
 * its own (no instruments, same resource) whose only source is ClusterPrimary. Shutting this
 * reader down shuts that one down too.
 */
export function clusterPrimaryReader(
  producers: MetricProducer[],
  resource: Resource,
  serve: (producer: MetricProducer) => MetricReader,
  options: ClusterPrimaryOptions = {},
): MetricReader {
  let stop = (): void => {};
  let serving: MeterProvider | undefined;
  const self = new OnDemandReader({
    metricProducers: producers,
    onShutdown: async () => {
      stop();
      await serving?.shutdown();
    },
  });
  const primary = new ClusterPrimary(self, options);
  stop = primary.start();
  serving = new MeterProvider({ resource, readers: [serve(primary)] });
  return self;
}

// ---------------------------------------------------------------------------------------------
// Worker

/**
 * The reader for a cluster worker's MeterProvider when Prometheus is on: no port; it answers the
 * primary. `producers` are pre-aggregated metrics (HTTP), read apart so they can be pushed cheaply.
 */
export function clusterWorkerReader(
  producers: MetricProducer[],
  channel: NodeJS.Process = process,
  options: {
    /** A fixed push interval instead of the adaptive one (tests). */
    pushIntervalMillis?: number;
    /**
     * When no primary answers (its process runs without mon, e.g. pm2's cluster mode): serve this
     * worker's own metrics instead, through the producer given. Returns where, for the warning.
     */
    serveAlone?: (producer: MetricProducer) => string;
    /** Runs a collection the primary asked for as a peek (register's `peek`). */
    peek?: <T>(collect: () => T) => T;
  } = {},
): MetricReader {
  let stop = (): void => {};
  const reader = new OnDemandReader({ onShutdown: async () => stop() });
  stop = startClusterWorker(reader, producers, channel, options.pushIntervalMillis, options.serveAlone, options.peek);
  return reader;
}

/** A worker's SDK metrics and its pre-aggregated ones, as one producer. */
function ownMetrics(reader: MetricReader, producers: MetricProducer[]): MetricProducer {
  return {
    collect: async () => {
      const [own, ...rest] = await Promise.all([reader.collect({ timeoutMillis: OWN_COLLECT_TIMEOUT_MS }), ...producers.map((p) => p.collect())]);
      return {
        resourceMetrics: {
          resource: own!.resourceMetrics.resource,
          scopeMetrics: own!.resourceMetrics.scopeMetrics.concat(rest.flatMap((r) => r.resourceMetrics.scopeMetrics)),
        },
        errors: own!.errors.concat(rest.flatMap((r) => r.errors)),
      };
    },
  };
}

function startClusterWorker(
  reader: MetricReader,
  producers: MetricProducer[],
  channel: NodeJS.Process,
  fixedInterval?: number,
  serveAlone?: (producer: MetricProducer) => string,
  peek: <T>(collect: () => T) => T = (collect) => collect(),
): () => void {
  /** Ids of the collect requests not answered yet, scrapes and peeks apart (a peek's answer must not stand for a scrape's). */
  const waiting: [number[], number[]] = [[], []];
  let collecting = false;
  let sdkSeq = 0;
  let producedSeq = 0;
  let lastProduced: string | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let pushInterval = fixedInterval ?? PUSH_MIN_INTERVAL_MS;
  let stopped = false;

  /**
   * The producers' metrics, encoded, and the CPU milliseconds spent on them: CPU time, not wall
   * time, which on a busy machine would count the time other processes had the core.
   */
  const readProduced = async (): Promise<{ seq: number; json: string; cost: number }> => {
    // Numbered when read, not when sent: the primary keeps the newest whatever the arrival order.
    const seq = ++producedSeq;
    let started = process.cpuUsage();
    const pending = Promise.all(producers.map((p) => p.collect()));
    let cost = cpuMillis(started);
    const results = await pending;
    started = process.cpuUsage();
    const json = encodeScopes(results.flatMap((r) => r.resourceMetrics.scopeMetrics));
    cost += cpuMillis(started);
    return { seq, json, cost };
  };

  /** Collects for the requests of one kind; then for those of the other that came meanwhile. */
  const answer = async (kind: Kind): Promise<void> => {
    collecting = true;
    let payload: Omit<Message, 'cmd' | 'type' | 'ids'> = {};
    try {
      const seq = ++sdkSeq;
      const collect = () => reader.collect({ timeoutMillis: OWN_COLLECT_TIMEOUT_MS });
      const { resourceMetrics, errors } = await (kind === PEEK ? peek(collect) : collect());
      if (errors.length > 0) debug('cluster: %d collection error(s): %o', errors.length, errors);
      const produced = await readProduced();
      lastProduced = produced.json;
      payload = {
        sdk: encodeScopes(resourceMetrics.scopeMetrics),
        sdkSeq: seq,
        // The primary's reader warns about them as about its own (once per cause).
        errors: errors.slice(0, MAX_FORWARDED_ERRORS).map(errorSummary),
        produced: produced.json,
        producedSeq: produced.seq,
      };
    } catch (error) {
      // Answer anyway (without data), so the primary does not wait for the timeout.
      debug('cluster: collection failed: %s', describe(error));
    }
    // Synchronous from here to the send: every request of this kind that arrived during the
    // collection is answered by it, and any later one starts a new collection.
    const ids = waiting[kind];
    waiting[kind] = [];
    collecting = false;
    send(channel, { type: 'metrics', ids, ...(kind === PEEK ? { peek: true } : {}), ...payload });
    const other: Kind = kind === PEEK ? SCRAPE : PEEK;
    if (waiting[other].length > 0) void answer(other);
  };

  /** Sends the producers' metrics if they changed. Returns whether they had, and the cost in ms. */
  const push = async (): Promise<{ changed: boolean; cost: number }> => {
    // An answer on its way carries fresher data.
    if (collecting) return { changed: true, cost: 0 };
    try {
      const produced = await readProduced();
      if (produced.json === lastProduced) return { changed: false, cost: produced.cost };
      lastProduced = produced.json;
      const started = process.cpuUsage();
      send(channel, { type: 'metrics', produced: produced.json, producedSeq: produced.seq });
      return { changed: true, cost: produced.cost + cpuMillis(started) };
    } catch (error) {
      debug('cluster: push failed: %s', describe(error));
      return { changed: true, cost: 0 };
    }
  };

  // Timers are unref'd: a worker's lifetime is its app's business (and cluster's, whose own IPC
  // listener keeps a worker alive until it disconnects).
  const schedulePush = (): void => {
    if (stopped) return;
    pushTimer = setTimeout(async () => {
      const { changed, cost } = await push();
      if (fixedInterval === undefined) {
        const affordable = cost / PUSH_CPU_SHARE;
        pushInterval = changed
          ? Math.min(PUSH_MAX_INTERVAL_MS, Math.max(PUSH_MIN_INTERVAL_MS, affordable))
          : Math.min(PUSH_MAX_INTERVAL_MS, pushInterval * 2);
      }
      schedulePush();
    }, pushInterval);
    pushTimer.unref();
  };

  const noPrimary = setTimeout(() => {
    let where: string | undefined;
    try {
      where = serveAlone?.(ownMetrics(reader, producers));
    } catch (error) {
      debug('cluster: serving alone failed: %s', describe(error));
    }
    warn(
      'MON_CLUSTER_NO_PRIMARY',
      where === undefined
        ? `this cluster worker's primary does not run mon, so nothing serves /metrics for it; start the primary with --import @mon/register (workers inherit it). The app runs on.`
        : `this cluster worker's primary does not run mon: each worker tries ${where} for its own metrics and the first one to bind it serves; start the primary with --import @mon/register (workers inherit it) for one endpoint for the whole cluster.`,
    );
  }, NO_PRIMARY_WARNING_MS);
  noPrimary.unref();

  const onMessage = (message: unknown): void => {
    if (!isOurs(message)) return;
    if (message.type === 'welcome') {
      clearTimeout(noPrimary);
      if (pushTimer === undefined && producers.length > 0) schedulePush();
    } else if (message.type === 'collect' && typeof message.id === 'number') {
      const kind: Kind = message.peek === true ? PEEK : SCRAPE;
      waiting[kind].push(message.id);
      // Requests of one kind that arrive during a collection for it share it.
      if (!collecting) void answer(kind);
    }
  };

  // 'internalMessage' is not 'message': it neither refs the channel nor shows up in the app's handlers.
  channel.on('internalMessage', onMessage);
  send(channel, { type: 'hello', version: PROTOCOL });
  return () => {
    channel.removeListener('internalMessage', onMessage);
    stopped = true;
    clearTimeout(noPrimary);
    clearTimeout(pushTimer);
  };
}

const MAX_FORWARDED_ERRORS = 20;

function errorSummary(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

function cpuMillis(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}
