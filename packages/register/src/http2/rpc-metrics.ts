// Pre-aggregated RPC call durations, handed to readers as a MetricProducer for the same reason as
// the HTTP series (http-server-metrics.ts): an attribute set is built once per series, never
// hashed per call. One class for both sides:
//   rpc.server.call.duration  by rpc.system.name, rpc.method, rpc.response.status_code, error.type
//   rpc.client.call.duration  the same, plus server.address and server.port of the target, whose
//                             cap is the HTTP client's (MON_MAX_CLIENT_HOSTS: one Target per peer)
// rpc.method is bounded like http.route: at most `maxMethods` names, then `_OTHER`; a path that is
// not shaped `/package.Service/Method`, or a call the server answered UNIMPLEMENTED, never mints one.
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime } from '../hr-time.js';
import type { MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType, ValueType } from '../sdk-constants.js';
import { durationsProducer, pushDurations, type Sent } from '../durations-producer.js';
import { Durations } from '../http-server-metrics.js';
import { STATUSES, STATUS_NAMES, UNIMPLEMENTED, isServerFault } from './grpc-status.js';

export const RPC_INSTRUMENTS = {
  server: 'rpc.server.call.duration',
  client: 'rpc.client.call.duration',
} as const;

export const OTHER_METHOD = '_OTHER';
/** Method index of `_OTHER`. */
export const OTHER = 0;
/** Longest rpc.method kept; a longer one is `_OTHER`. */
const MAX_METHOD_LENGTH = 128;
/** `/package.Service/Method`: what a gRPC :path is (grpc/doc/PROTOCOL-HTTP2.md). */
const METHOD_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

export type RpcSide = 'server' | 'client';

export interface RpcMetricsOptions {
  /** The most distinct rpc.method values; the rest are `_OTHER`. */
  maxMethods: number;
  /** The most series; the rest count in one otel.metric.overflow=true series. */
  maxSeries?: number;
  /** Called once, the first time a method goes to `_OTHER` because of maxMethods. */
  onTooManyMethods?: () => void;
  onOverflow?: () => void;
}

/** The server side has one scope; the client side one per target (the HTTP client's Target). */
const SERVER_SCOPE: { attributes: Readonly<Attributes> } = { attributes: {} };

export class RpcMetrics {
  /** `/pkg.Service/Method` -> index into names. */
  private readonly indexes = new Map<string, number>();
  private readonly names: string[] = [OTHER_METHOD];
  private readonly maxMethods: number;
  private readonly maxSeries: number;
  private readonly onTooManyMethods: () => void;
  private readonly onOverflow: () => void;
  private warnedMethods = false;
  /** scope (a Target, or SERVER_SCOPE) -> key (method * STATUSES + status) -> series. */
  private readonly scopes = new Map<object, Map<number, Durations>>();
  private seriesCount = 0;
  private overflow: Durations | undefined;
  private readonly startTime: HrTime = hrTime();

  constructor(
    readonly side: RpcSide,
    options: RpcMetricsOptions,
  ) {
    this.maxMethods = options.maxMethods;
    this.maxSeries = options.maxSeries ?? 2000;
    this.onTooManyMethods = options.onTooManyMethods ?? (() => {});
    this.onOverflow = options.onOverflow ?? (() => {});
  }

  /** The largest method index there can be, plus one: callers pack indexes below it. */
  get methodSpan(): number {
    return this.maxMethods + 1;
  }

  /** The index of a method already known, or -1: it is named when the call ends (methodOf). */
  knownMethod(path: unknown): number {
    return this.indexes.get(path as string) ?? -1;
  }

  /**
   * The index of a method first seen on a call that ended with `status`. Off the hot path: once
   * per method, and for calls to names that never get one (bounded by the checks below).
   */
  methodOf(path: unknown, status: number): number {
    if (typeof path !== 'string') return OTHER;
    const known = this.indexes.get(path);
    if (known !== undefined) return known;
    // A server that does not have the method says so: scanners must not fill the budget.
    if (status === UNIMPLEMENTED || path.length > MAX_METHOD_LENGTH + 1 || !METHOD_PATH.test(path)) return OTHER;
    if (this.indexes.size >= this.maxMethods) {
      if (!this.warnedMethods) {
        this.warnedMethods = true;
        this.onTooManyMethods();
      }
      return OTHER;
    }
    const index = this.names.length;
    this.names.push(path.slice(1));
    this.indexes.set(path, index);
    return index;
  }

  /** The hot path: one call ended. `scope` is the client's Target, undefined on the server. */
  record(scope: { attributes: Readonly<Attributes> } | undefined, method: number, status: number, micros: number): void {
    const key = method * STATUSES + status;
    const owner = scope ?? SERVER_SCOPE;
    const table = this.scopes.get(owner) ?? this.newScope(owner);
    (table.get(key) ?? this.newSeries(owner, table, key, method, status)).record(micros);
  }

  private newScope(scope: object): Map<number, Durations> {
    const table = new Map<number, Durations>();
    this.scopes.set(scope, table);
    return table;
  }

  private newSeries(scope: { attributes: Readonly<Attributes> }, table: Map<number, Durations>, key: number, method: number, status: number): Durations {
    if (this.seriesCount >= this.maxSeries) {
      if (this.overflow === undefined) {
        this.overflow = new Durations({ 'otel.metric.overflow': true });
        this.newScope({}).set(-1, this.overflow);
        this.onOverflow();
      }
      return this.overflow;
    }
    this.seriesCount++;
    const attributes: Attributes = {
      'rpc.system.name': 'grpc',
      'rpc.method': this.names[method]!,
      'rpc.response.status_code': STATUS_NAMES[status]!,
    };
    // The peer, on the client: the target's address and port (its url.scheme is no RPC attribute).
    const peer = scope.attributes;
    if (peer['server.address'] !== undefined) attributes['server.address'] = peer['server.address'];
    if (peer['server.port'] !== undefined) attributes['server.port'] = peer['server.port'];
    // The gRPC conventions: on a server only the codes that mean its own fault are errors; a
    // client's call failed with any code but OK.
    if (this.side === 'server' ? isServerFault(status) : status !== 0) attributes['error.type'] = STATUS_NAMES[status]!;
    const series = new Durations(attributes);
    table.set(key, series);
    return series;
  }

  /** A producer for one reader; see HttpServerMetrics.producer for the temporality rules. */
  producer(temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE): MetricProducer {
    return durationsProducer(this.startTime, temporality, (now, sent, lastCollection) => {
      const metric = this.collect(now, sent, lastCollection);
      return metric.dataPoints.length > 0 ? [metric] : [];
    });
  }

  private collect(now: HrTime, sent: Sent, lastCollection: HrTime): MetricData & { dataPointType: DataPointType.HISTOGRAM } {
    const delta = sent !== undefined;
    const durations: MetricData & { dataPointType: DataPointType.HISTOGRAM } = {
      descriptor: {
        name: RPC_INSTRUMENTS[this.side],
        description:
          this.side === 'server'
            ? 'Duration of gRPC calls served, until the stream closes (streaming calls included).'
            : 'Duration of gRPC calls made, until the stream closes (streaming calls included).',
        unit: 's',
        valueType: ValueType.DOUBLE,
      },
      aggregationTemporality: delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [],
    };
    const startTime = delta ? lastCollection : this.startTime;
    for (const table of this.scopes.values()) {
      for (const series of table.values()) {
        pushDurations(durations.dataPoints, series, sent, startTime, now);
      }
    }
    return durations;
  }
}
