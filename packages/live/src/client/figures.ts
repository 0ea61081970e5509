// From two or three scrapes of /metrics to the figures the page draws: rates from counter
// increases, percentiles from histogram bucket increases (Prometheus' histogram_quantile), shares
// of CPU and event-loop time. Pure, no DOM: runs in the browser and under vitest.
import { seriesKey, type Sample, type Samples } from './exposition.js';

export interface Snapshot {
  /** When the scrape was answered, in ms (the page's clock). */
  readonly time: number;
  readonly samples: Samples;
}

/**
 * Every series the page reads, in one table: the names mon's /metrics serves (docs/metrics.md;
 * examples/grafana/dashboard.json uses the same). A missing one leaves its chart empty, saying so.
 */
export const SERIES = {
  requests: 'http_server_requests_total',
  duration: 'http_server_request_duration_seconds',
  active: 'http_server_active_requests',
  clientDuration: 'http_client_request_duration_seconds',
  dbDuration: 'db_client_operation_duration_seconds',
  rpcServerDuration: 'rpc_server_call_duration_seconds',
  systemCpuTime: 'system_cpu_time_seconds_total',
  systemCpuUtilization: 'system_cpu_utilization_ratio',
  processCpuTime: 'process_cpu_time_seconds_total',
  processCpuUtilization: 'process_cpu_utilization_ratio',
  rss: 'process_memory_usage_bytes',
  heapUsed: 'v8js_memory_heap_used_bytes',
  heapSize: 'v8js_memory_heap_space_size_bytes',
  systemMemory: 'system_memory_usage_bytes',
  filesystemUsage: 'system_filesystem_usage_bytes',
  filesystemUtilization: 'system_filesystem_utilization_ratio',
  loopDelayP50: 'nodejs_eventloop_delay_p50_seconds',
  loopDelayP99: 'nodejs_eventloop_delay_p99_seconds',
  loopDelayMax: 'nodejs_eventloop_delay_max_seconds',
  loopTime: 'nodejs_eventloop_time_seconds_total',
  loopUtilization: 'nodejs_eventloop_utilization_ratio',
  gcDuration: 'v8js_gc_duration_seconds',
  uptime: 'process_uptime_seconds',
  targetInfo: 'target_info',
  // Only under a cgroup limit (docs/containers.md); the container card is hidden without them.
  containerWorkingSet: 'container_memory_working_set_bytes',
  containerMemoryLimit: 'container_memory_limit_bytes',
  containerCpuTime: 'container_cpu_time_seconds_total',
  containerCpuLimit: 'container_cpu_limit',
  containerPeriods: 'container_cpu_periods_total',
  containerThrottledPeriods: 'container_cpu_throttled_periods_total',
} as const;

/**
 * In a cluster, mon's /metrics (served by the primary) gives per-process series (uptime, memory,
 * event loop) one series per process, told apart by this label: `primary` or a worker slot
 * (docs/cluster.md). Summing those would add up uptimes and delays; the page shows one process.
 */
export const PROCESS_LABEL = 'nodejs_cluster_worker';
export const PRIMARY_PROCESS = 'primary';

type Labels = Readonly<Record<string, string>>;
type Filter = (labels: Labels) => boolean;

/** One point per scrape. Undefined where there is nothing to say (no requests, no such metric). */
export interface Point {
  time: number;
  /** Requests per second since the previous scrape: all, 4xx, 5xx (and aborted). */
  requestRate?: number;
  clientErrorRate?: number;
  serverErrorRate?: number;
  /** Share of requests with an `error_type` (5xx, aborted), over the latency window. */
  errorRatio?: number;
  /** Seconds, over the latency window. */
  p50?: number;
  p95?: number;
  p99?: number;
  active?: number;
  /** Shares of all CPUs (0..1). */
  cpuProcess?: number;
  cpuSystem?: number;
  /** Bytes. */
  rss?: number;
  heapUsed?: number;
  heapSize?: number;
  /** Seconds. */
  loopDelayP50?: number;
  loopDelayP99?: number;
  loopDelayMax?: number;
  /** Shares of wall time (0..1). */
  loopUtilization?: number;
  gcShare?: number;
  /**
   * In a container with limits, shares of what the kernel allows (0..1): the working set of the
   * memory limit, the CPUs used of the CPU limit (quota / period), and the quota's periods that
   * were throttled since the previous scrape.
   */
  containerMemory?: number;
  containerCpu?: number;
  containerThrottled?: number;
  /**
   * In a cluster, whose figures the memory and event-loop lines are: the process with the largest
   * RSS, and the one with the highest event-loop p99 (or busiest loop). The PROCESS_LABEL value;
   * undefined outside a cluster.
   */
  memoryProcess?: string;
  loopProcess?: string;
}

export interface Disk {
  mountpoint: string;
  device: string;
  used: number;
  free: number;
  /** used / (used + free), as df's Use%. */
  utilization: number;
}

export interface Status {
  service?: string;
  pid?: string;
  runtimeVersion?: string;
  /** The primary's in a cluster (the cluster's age, not a sum over processes). */
  uptime?: number;
  /** How many processes the figures come from: 1, or the primary and its workers. */
  processes: number;
  /**
   * Requests counted since the app started. 0 before the first: mon exports no HTTP series
   * until a request finishes, so "none yet" and "HTTP metrics turned off" look the same.
   */
  totalRequests: number;
  disks: Disk[];
  systemMemoryUsed?: number;
  systemMemoryTotal?: number;
  /** The container's limits, where it has them: bytes, and CPUs. */
  containerMemoryLimit?: number;
  containerCpuLimit?: number;
}

/**
 * The figures at `current`: rates over the interval since `previous`, percentiles and error
 * ratio over the longer interval since `windowStart` (steadier at low traffic).
 */
export function computePoint(current: Snapshot, previous: Snapshot | undefined, windowStart: Snapshot | undefined): Point {
  const point: Point = { time: current.time };
  const s = current.samples;

  if (previous !== undefined && current.time > previous.time) {
    const seconds = (current.time - previous.time) / 1000;
    const all = increase(previous, current, SERIES.requests);
    if (all !== undefined) {
      point.requestRate = all / seconds;
      point.clientErrorRate = (increase(previous, current, SERIES.requests, statusClass('4')) ?? 0) / seconds;
      point.serverErrorRate = (increase(previous, current, SERIES.requests, isError) ?? 0) / seconds;
    }

    const cpuTotal = increase(previous, current, SERIES.systemCpuTime);
    const cpuIdle = increase(previous, current, SERIES.systemCpuTime, (l) => l.cpu_mode === 'idle');
    const processCpu = increase(previous, current, SERIES.processCpuTime);
    if (cpuTotal !== undefined && cpuTotal > 0) {
      point.cpuSystem = clamp01(1 - (cpuIdle ?? 0) / cpuTotal);
      // system_cpu_time is summed over CPUs, so its increase is wall time x CPUs.
      if (processCpu !== undefined) point.cpuProcess = clamp01(processCpu / cpuTotal);
    }

    const loopActive = increase(previous, current, SERIES.loopTime, (l) => l.nodejs_eventloop_state === 'active');
    const loopAll = increase(previous, current, SERIES.loopTime);
    if (loopActive !== undefined && loopAll !== undefined && loopAll > 0) point.loopUtilization = clamp01(loopActive / loopAll);

    // The container's CPU against its limit; its throttled share of the quota's periods.
    const containerCpu = increase(previous, current, SERIES.containerCpuTime);
    const cpuLimit = total(s, SERIES.containerCpuLimit);
    if (containerCpu !== undefined && cpuLimit !== undefined && cpuLimit > 0) point.containerCpu = containerCpu / seconds / cpuLimit;
    const periods = increase(previous, current, SERIES.containerPeriods);
    if (periods !== undefined) point.containerThrottled = periods > 0 ? (increase(previous, current, SERIES.containerThrottledPeriods) ?? 0) / periods : 0;

    const gc = increase(previous, current, `${SERIES.gcDuration}_sum`);
    // No GC series yet only means no GC has happened since start; the runtime group is on when heap is.
    // In a cluster the counter is summed over processes: per process, it is their average share.
    if (gc !== undefined) point.gcShare = gc / seconds / processCount(s);
    else if (s.has(SERIES.heapUsed)) point.gcShare = 0;
  }
  // In a cluster the loop-time counter is summed over processes (an average that hides a stuck
  // worker); the per-collection gauge is per process: the busiest one.
  if (processes(s, SERIES.loopUtilization).size > 1) point.loopUtilization = total(s, SERIES.loopUtilization, inProcess(worstProcess(s, SERIES.loopUtilization)));
  // Gauges the host computes per collection; used when the counters above are not exported.
  point.cpuSystem ??= oneMinus(total(s, SERIES.systemCpuUtilization, (l) => l.cpu_mode === 'idle'));
  point.cpuProcess ??= total(s, SERIES.processCpuUtilization);
  point.loopUtilization ??= total(s, SERIES.loopUtilization);

  if (windowStart !== undefined && current.time > windowStart.time) {
    const buckets = bucketIncreases(windowStart, current, SERIES.duration);
    if (buckets !== undefined) {
      point.p50 = histogramQuantile(0.5, buckets);
      point.p95 = histogramQuantile(0.95, buckets);
      point.p99 = histogramQuantile(0.99, buckets);
    }
    const all = increase(windowStart, current, SERIES.requests);
    if (all !== undefined && all > 0) point.errorRatio = (increase(windowStart, current, SERIES.requests, isError) ?? 0) / all;
  }

  const workingSet = total(s, SERIES.containerWorkingSet);
  const memoryLimit = total(s, SERIES.containerMemoryLimit);
  if (workingSet !== undefined && memoryLimit !== undefined && memoryLimit > 0) point.containerMemory = workingSet / memoryLimit;

  // A level the primary already sums over live processes (unlabelled).
  point.active = total(s, SERIES.active);
  // Per-process gauges: each line group from one process, the worst one in a cluster.
  const memory = worstProcess(s, SERIES.rss);
  const ofMemory = inProcess(memory);
  point.rss = total(s, SERIES.rss, ofMemory);
  point.heapUsed = total(s, SERIES.heapUsed, ofMemory);
  point.heapSize = total(s, SERIES.heapSize, ofMemory);
  const loop = worstProcess(s, SERIES.loopDelayP99);
  const ofLoop = inProcess(loop);
  point.loopDelayP50 = total(s, SERIES.loopDelayP50, ofLoop);
  point.loopDelayP99 = total(s, SERIES.loopDelayP99, ofLoop);
  point.loopDelayMax = total(s, SERIES.loopDelayMax, ofLoop);
  if (memory !== undefined && memory !== '') point.memoryProcess = memory;
  if (loop !== undefined && loop !== '') point.loopProcess = loop;
  return point;
}

/** The PROCESS_LABEL values on the series of `name` ('' for a series without it: no cluster). */
export function processes(samples: Samples, name: string): Set<string> {
  const found = new Set<string>();
  for (const { labels } of samples.get(name) ?? []) found.add(labels[PROCESS_LABEL] ?? '');
  return found;
}

/** How many processes the per-process series come from: 1 outside a cluster. */
export function processCount(samples: Samples): number {
  return Math.max(1, processes(samples, SERIES.uptime).size, processes(samples, SERIES.rss).size, processes(samples, SERIES.loopDelayP99).size);
}

/** The process whose series of `name` sum highest; undefined when there is no such series. */
export function worstProcess(samples: Samples, name: string): string | undefined {
  const sums = new Map<string, number>();
  for (const { labels, value } of samples.get(name) ?? []) {
    const process = labels[PROCESS_LABEL] ?? '';
    sums.set(process, (sums.get(process) ?? 0) + value);
  }
  let worst: string | undefined;
  for (const [process, sum] of sums) if (worst === undefined || sum > sums.get(worst)!) worst = process;
  return worst;
}

/** Only the series of one process (all of them when `process` is undefined). */
function inProcess(process: string | undefined): Filter {
  return (labels) => process === undefined || (labels[PROCESS_LABEL] ?? '') === process;
}

export function computeStatus(samples: Samples): Status {
  const info = samples.get(SERIES.targetInfo)?.[0]?.labels;
  const disks = new Map<string, Disk>();
  for (const { labels, value } of samples.get(SERIES.filesystemUsage) ?? []) {
    const mountpoint = labels.system_filesystem_mountpoint ?? labels.system_device ?? '?';
    let disk = disks.get(mountpoint);
    if (disk === undefined) {
      disk = { mountpoint, device: labels.system_device ?? '', used: 0, free: 0, utilization: 0 };
      disks.set(mountpoint, disk);
    }
    if (labels.system_filesystem_state === 'used') disk.used += value;
    else if (labels.system_filesystem_state === 'free') disk.free += value;
  }
  for (const disk of disks.values()) {
    const reported = samples.get(SERIES.filesystemUtilization)?.find((x) => x.labels.system_filesystem_mountpoint === disk.mountpoint);
    disk.utilization = reported?.value ?? (disk.used + disk.free > 0 ? disk.used / (disk.used + disk.free) : 0);
  }
  const used = total(samples, SERIES.systemMemory, (l) => l.system_memory_state === 'used');
  const memoryAll = total(samples, SERIES.systemMemory);
  return {
    service: info?.service_name,
    pid: info?.process_pid,
    runtimeVersion: info?.process_runtime_version,
    uptime: total(samples, SERIES.uptime, inProcess(processes(samples, SERIES.uptime).has(PRIMARY_PROCESS) ? PRIMARY_PROCESS : undefined)),
    processes: processCount(samples),
    totalRequests: total(samples, SERIES.requests) ?? 0,
    disks: [...disks.values()].sort((a, b) => a.mountpoint.localeCompare(b.mountpoint)),
    systemMemoryUsed: used,
    // used + available: the states the host reports; their sum is the machine's memory.
    systemMemoryTotal: memoryAll,
    containerMemoryLimit: total(samples, SERIES.containerMemoryLimit),
    containerCpuLimit: total(samples, SERIES.containerCpuLimit),
  };
}

export interface RouteStats {
  /** `http_route`, or '' for requests without one (plain node:http has no routes). */
  route: string;
  /** Requests per second over the window. */
  rate: number;
  /** Share with error_type set. */
  errorRatio: number;
  /** Seconds. */
  p95?: number;
}

/** Per route over the window from `from` to `to`: the routes that had requests, busiest first. */
export function routeStats(from: Snapshot, to: Snapshot): RouteStats[] {
  return statsBy(from, to, SERIES.requests, SERIES.duration, (labels) => labels.http_route ?? '').map(({ key, ...stats }) => ({ route: key, ...stats }));
}

export interface MethodStats {
  /** `rpc_method` of gRPC calls served: `package.Service/Method`, or `_OTHER` past mon's cap. */
  method: string;
  /** Calls per second over the window. */
  rate: number;
  /** Share that ended with a server-fault status (error_type set: UNKNOWN, INTERNAL, UNAVAILABLE...). */
  errorRatio: number;
  /** Seconds, until the call's stream closed. */
  p95?: number;
}

/** gRPC calls served per method over the window (docs/http2-grpc.md): the methods that had calls, busiest first. */
export function methodStats(from: Snapshot, to: Snapshot): MethodStats[] {
  return statsBy(from, to, `${SERIES.rpcServerDuration}_count`, SERIES.rpcServerDuration, (labels) => labels.rpc_method ?? '_OTHER').map(({ key, ...stats }) => ({
    method: key,
    ...stats,
  }));
}

export interface HostStats {
  /** `address:port` as the app called it (`server_address`, `server_port`), or `_OTHER` past mon's cap. */
  host: string;
  /** Calls per second over the window. */
  rate: number;
  /** Share that failed: no response, or a 4xx/5xx (error_type set). */
  errorRatio: number;
  /** Seconds, until the response was fully received. */
  p95?: number;
}

/** The app's outgoing calls per host over the window: the hosts that had calls, busiest first. */
export function hostStats(from: Snapshot, to: Snapshot): HostStats[] {
  const hostOf = (labels: Labels): string => {
    const address = labels.server_address ?? '?';
    const host = address.includes(':') ? `[${address}]` : address;
    return labels.server_port === undefined ? host : `${host}:${labels.server_port}`;
  };
  return statsBy(from, to, `${SERIES.clientDuration}_count`, SERIES.clientDuration, hostOf).map(({ key, ...stats }) => ({ host: key, ...stats }));
}

export interface DbStats {
  /** `db_system_name` and `db_operation_name`, e.g. `redis GET`, `mariadb SELECT`. */
  operation: string;
  /** Operations per second over the window. */
  rate: number;
  /** Share that failed (error_type set). */
  errorRatio: number;
  /** Seconds, until the caller got its answer. */
  p95?: number;
}

/** The app's database and cache operations per system and operation over the window, busiest first. */
export function dbStats(from: Snapshot, to: Snapshot): DbStats[] {
  const operationOf = (labels: Labels): string => `${labels.db_system_name ?? '?'} ${labels.db_operation_name ?? '?'}`;
  return statsBy(from, to, `${SERIES.dbDuration}_count`, SERIES.dbDuration, operationOf).map(({ key, ...stats }) => ({ operation: key, ...stats }));
}

/** Rate, error ratio and p95 per key over a window, from a counter and a histogram with the same labels. */
function statsBy(
  from: Snapshot,
  to: Snapshot,
  counter: string,
  histogram: string,
  keyOf: (labels: Labels) => string,
): Array<{ key: string; rate: number; errorRatio: number; p95?: number }> {
  const seconds = (to.time - from.time) / 1000;
  if (!(seconds > 0)) return [];
  const groups = new Map<string, { requests: number; errors: number; buckets: Map<number, number> }>();
  const entry = (key: string) => {
    let found = groups.get(key);
    if (found === undefined) groups.set(key, (found = { requests: 0, errors: 0, buckets: new Map() }));
    return found;
  };
  eachIncrease(from, to, counter, (labels, increase) => {
    const group = entry(keyOf(labels));
    group.requests += increase;
    if (isError(labels)) group.errors += increase;
  });
  eachIncrease(from, to, `${histogram}_bucket`, (labels, increase) => {
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    if (Number.isNaN(le)) return;
    const { buckets } = entry(keyOf(labels));
    buckets.set(le, (buckets.get(le) ?? 0) + increase);
  });
  const stats: Array<{ key: string; rate: number; errorRatio: number; p95?: number }> = [];
  for (const [key, { requests, errors, buckets }] of groups) {
    if (!(requests > 0)) continue;
    const sorted = [...buckets].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    stats.push({ key, rate: requests / seconds, errorRatio: errors / requests, p95: histogramQuantile(0.95, sorted) });
  }
  return stats.sort((a, b) => b.rate - a.rate || a.key.localeCompare(b.key));
}

/** Sum of the series of `name` whose labels pass `filter`; undefined when there is none. */
export function total(samples: Samples, name: string, filter?: Filter): number | undefined {
  const list = samples.get(name);
  if (list === undefined) return undefined;
  let sum = 0;
  let found = false;
  for (const { labels, value } of list) {
    if (filter !== undefined && !filter(labels)) continue;
    sum += value;
    found = true;
  }
  return found ? sum : undefined;
}

/**
 * How much the counters of `name` grew from `from` to `to`, summed over series. Undefined when
 * `to` has no such series (or none passes `filter`).
 */
export function increase(from: Snapshot, to: Snapshot, name: string, filter?: Filter): number | undefined {
  let sum = 0;
  let found = false;
  eachIncrease(from, to, name, (labels, grew) => {
    if (filter !== undefined && !filter(labels)) return;
    found = true;
    sum += grew;
  });
  return found ? sum : undefined;
}

/**
 * Calls `visit` with each series of `name` in `to` and how much it grew since `from`. A series
 * that went down was reset (the app restarted): its whole current value is the increase, as
 * Prometheus' increase() takes it. A series new since `from` started at 0. Returns whether `to`
 * has the name at all.
 */
function eachIncrease(from: Snapshot, to: Snapshot, name: string, visit: (labels: Labels, increase: number) => void): boolean {
  const now = to.samples.get(name);
  if (now === undefined) return false;
  const before = byKey(from.samples.get(name));
  for (const { labels, value } of now) {
    const old = before.get(seriesKey(labels));
    visit(labels, old === undefined || value < old ? value : value - old);
  }
  return true;
}

export interface Bucket {
  /** Upper bound (`le`), Infinity for the last. */
  le: number;
  /** Cumulative count. */
  count: number;
}

/** Bucket increases of histogram `base` from `from` to `to`, summed over all its series by `le`. */
export function bucketIncreases(from: Snapshot, to: Snapshot, base: string): Bucket[] | undefined {
  const byLe = new Map<number, number>();
  const found = eachIncrease(from, to, `${base}_bucket`, (labels, grew) => {
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    if (!Number.isNaN(le)) byLe.set(le, (byLe.get(le) ?? 0) + grew);
  });
  if (!found) return undefined;
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank, the
 * first bucket starting at 0, the +Inf bucket answered with the highest finite bound. Undefined
 * when no observation fell in the interval.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const last = buckets[buckets.length - 1];
  if (last === undefined || last.le !== Infinity || !(last.count > 0)) return undefined;
  const rank = q * last.count;
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i]!;
    if (bucket.count < rank) continue;
    if (bucket.le === Infinity) return buckets[i - 1]?.le;
    const lower = i === 0 ? 0 : buckets[i - 1]!.le;
    const below = i === 0 ? 0 : buckets[i - 1]!.count;
    if (i === 0 && bucket.le <= 0) return bucket.le;
    const inBucket = bucket.count - below;
    return inBucket > 0 ? lower + ((bucket.le - lower) * (rank - below)) / inBucket : bucket.le;
  }
  return undefined;
}

// A snapshot's series by identity, built once per list: each point reads the same previous
// snapshot several times (all requests, 4xx, errors; rate and window), the history every 10 s.
const keyedLists = new WeakMap<readonly Sample[], Map<string, number>>();
const EMPTY: ReadonlyMap<string, number> = new Map();

function byKey(list: readonly Sample[] | undefined): ReadonlyMap<string, number> {
  if (list === undefined) return EMPTY;
  let map = keyedLists.get(list);
  if (map === undefined) {
    map = new Map();
    for (const { labels, value } of list) map.set(seriesKey(labels), value);
    keyedLists.set(list, map);
  }
  return map;
}

// error_type is set for 5xx and for aborted requests (docs/metrics.md).
const isError: Filter = (labels) => (labels.error_type ?? '') !== '';
const statusClass =
  (digit: string): Filter =>
  (labels) =>
    (labels.http_response_status_code ?? '').startsWith(digit);

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function oneMinus(value: number | undefined): number | undefined {
  return value === undefined ? undefined : clamp01(1 - value);
}
