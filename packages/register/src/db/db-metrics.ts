// Pre-aggregated database client metrics (the calls the app makes to MySQL, MariaDB and Redis),
// handed to readers as a MetricProducer for the same reason as HTTP (http-server-metrics.ts): an
// attribute set is built once per series, never hashed per operation.
//
// Identity of an operation: its kind (an operation, a connection made, a wait for a pooled
// connection), its target (db.system.name, server.address, server.port; targets are capped and
// the rest share one `_OTHER` target per system), its operation name and its error type (both
// from bounded sets).
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime } from '../hr-time.js';
import type { MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType, ValueType } from '../sdk-constants.js';
import { durationsProducer, pushDurations, type Sent } from '../durations-producer.js';
import { MAX_ADDRESS_LENGTH, MAX_CLIENT_SERIES, MAX_ERROR_TYPES, OTHER, errorTypeName } from '../http-client-metrics.js';
import { Durations } from '../http-server-metrics.js';
import { redisReplyPrefix, REDIS_OPERATIONS } from './redis-operation.js';
import { SQL_OPERATIONS } from './sql-operation.js';

export const DB_INSTRUMENTS = {
  operation: 'db.client.operation.duration',
  create: 'db.client.connection.create_time',
  wait: 'db.client.connection.wait_time',
} as const;

/** What a timed span of a driver's work is. */
export const OPERATION = 0;
export const CREATE = 1;
export const WAIT = 2;
export type Kind = typeof OPERATION | typeof CREATE | typeof WAIT;

/** db.system.name values, by index. */
export const MYSQL = 0;
export const MARIADB = 1;
export const REDIS = 2;
export type System = typeof MYSQL | typeof MARIADB | typeof REDIS;
const SYSTEM_NAMES = ['mysql', 'mariadb', 'redis'] as const;
/** Operation names by system; index `length` of each is `_OTHER`. */
const OPERATION_NAMES: ReadonlyArray<readonly string[]> = [SQL_OPERATIONS, SQL_OPERATIONS, REDIS_OPERATIONS];
/** A bound on every operation index, for series keys. */
const OPERATIONS = 1024;
const ERROR_TYPES = MAX_ERROR_TYPES + 2;


class Series extends Durations {
  constructor(
    attributes: Attributes,
    readonly kind: Kind,
  ) {
    super(attributes);
  }
}

/** One database server the app talks to, as one system. */
export class Target {
  /** key (see record) -> series. */
  readonly series = new Map<number, Series>();
  constructor(
    readonly system: System,
    readonly attributes: Readonly<Attributes>,
  ) {}
}

export interface DbMetricsOptions {
  /** The most distinct targets (system, address, port); operations on others count under `_OTHER`. */
  maxHosts?: number;
  /** The most series over all targets (default MAX_CLIENT_SERIES, as outgoing HTTP); the rest count in one otel.metric.overflow=true series per instrument. */
  maxSeries?: number;
  /** Called once, the first time an operation goes to `_OTHER` because of maxHosts. */
  onTooManyHosts?: () => void;
  /** Called once, the first time maxSeries is reached. */
  onOverflow?: () => void;
}

export class DbMetrics {
  private readonly maxHosts: number;
  private readonly maxSeries: number;
  private readonly onTooManyHosts: () => void;
  private readonly onOverflow: () => void;
  /** By system: address -> port -> target. At most maxHosts targets in all. */
  private readonly bySystem: Array<Map<unknown, Map<unknown, Target>>> = [new Map(), new Map(), new Map()];
  private targetCount = 0;
  private readonly others: Array<Target | undefined> = [undefined, undefined, undefined];
  /** MySQL-protocol servers whose handshake said MariaDB: address -> ports. Bounded like targets. */
  private readonly mariadb = new Map<unknown, Set<unknown>>();
  private mariadbCount = 0;
  private readonly errorTypes = new Map<string, number>([[OTHER, 1]]);
  /** error.type by index; 0 is "no error", 1 `_OTHER`. */
  private readonly errorNames: string[] = ['', OTHER];
  private readonly startTime: HrTime = hrTime();
  private seriesCount = 0;
  private warnedHosts = false;
  private readonly overflow: Array<Series | undefined> = [undefined, undefined, undefined];
  private readonly overflowTarget = new Target(MYSQL, {});

  constructor(options: DbMetricsOptions = {}) {
    this.maxHosts = options.maxHosts ?? 100;
    this.maxSeries = options.maxSeries ?? MAX_CLIENT_SERIES;
    this.onTooManyHosts = options.onTooManyHosts ?? (() => {});
    this.onOverflow = options.onOverflow ?? (() => {});
  }

  /** How many targets and error types are held (tests check they stay bounded). */
  get size(): { targets: number; errorTypes: number; mariadbServers: number } {
    return { targets: this.targetCount, errorTypes: this.errorTypes.size, mariadbServers: this.mariadbCount };
  }

  /** A MySQL-protocol server whose handshake named MariaDB: its operations from now on are `mariadb`. */
  markMariaDb(address: unknown, port: unknown): void {
    const ports = this.mariadb.get(address);
    if (ports?.has(port) === true || this.mariadbCount >= this.maxHosts) return;
    if (ports === undefined) this.mariadb.set(address, new Set([port]));
    else ports.add(port);
    this.mariadbCount++;
  }

  /** mysql or mariadb, for a MySQL-protocol server: one Map lookup, none until a MariaDB is seen. */
  sqlSystem(address: unknown, port: unknown): System {
    return this.mariadbCount !== 0 && this.mariadb.get(address)?.has(port) === true ? MARIADB : MYSQL;
  }

  /** The target of an operation: two Map lookups after the first one. */
  target(system: System, address: unknown, port: unknown): Target {
    const known = this.bySystem[system]!.get(address)?.get(port);
    if (known !== undefined) return known;
    const portNumber = typeof port === 'number' ? port : typeof port === 'string' && /^\d{1,5}$/.test(port) ? Number(port) : undefined;
    const valid =
      typeof address === 'string' &&
      address !== '' &&
      address.length <= MAX_ADDRESS_LENGTH &&
      (port === undefined || (portNumber !== undefined && Number.isInteger(portNumber) && portNumber > 0 && portNumber < 65536));
    if (!valid || this.targetCount >= this.maxHosts) {
      if (valid && !this.warnedHosts) {
        this.warnedHosts = true;
        this.onTooManyHosts();
      }
      return (this.others[system] ??= new Target(system, Object.freeze({ 'db.system.name': SYSTEM_NAMES[system], 'server.address': OTHER })));
    }
    // A Unix socket has no port: server.address is its path, as the conventions' examples show.
    // Addresses are capped at outgoing HTTP's length (MAX_ADDRESS_LENGTH), for the same ceiling.
    const attributes: Attributes = { 'db.system.name': SYSTEM_NAMES[system], 'server.address': address };
    if (portNumber !== undefined) attributes['server.port'] = portNumber;
    const target = new Target(system, Object.freeze(attributes));
    let ports = this.bySystem[system]!.get(address);
    if (ports === undefined) this.bySystem[system]!.set(address, (ports = new Map()));
    ports.set(port, target);
    this.targetCount++;
    return target;
  }

  /**
   * error.type index for what an operation failed with, 0 for nothing: a Redis error reply's
   * prefix (WRONGTYPE), else the error's code (ER_NO_SUCH_TABLE, ECONNREFUSED), else its class
   * name; never its message.
   */
  errorTypeOf(error: unknown, system: System): number {
    let name: string | undefined;
    if (system === REDIS && typeof error === 'object' && error !== null) {
      try {
        name = redisReplyPrefix(error as { message?: unknown; code?: unknown });
      } catch {
        // A throwing getter on an error object: named below like any other.
      }
    }
    name ??= errorTypeName(error);
    const known = this.errorTypes.get(name);
    if (known !== undefined) return known;
    if (this.errorTypes.size >= MAX_ERROR_TYPES) return 1;
    const index = this.errorNames.length;
    this.errorNames.push(name);
    this.errorTypes.set(name, index);
    return index;
  }

  /**
   * Once per operation, connection or wait, when the caller gets its answer.
   * @param operation an index into the system's operation names (OPERATION only; 0 otherwise).
   * @param error an index from errorTypeOf, 0 for none.
   */
  record(kind: Kind, target: Target, operation: number, error: number, micros: number): void {
    const key = (kind * ERROR_TYPES + error) * OPERATIONS + operation;
    const series = target.series.get(key) ?? this.newSeries(kind, target, key, operation, error);
    series.record(micros);
  }

  private newSeries(kind: Kind, target: Target, key: number, operation: number, error: number): Series {
    if (this.seriesCount >= this.maxSeries) {
      let overflow = this.overflow[kind];
      if (overflow === undefined) {
        overflow = this.overflow[kind] = new Series({ 'otel.metric.overflow': true }, kind);
        this.overflowTarget.series.set(kind, overflow);
        if (this.overflow.filter((o) => o !== undefined).length === 1) this.onOverflow();
      }
      return overflow;
    }
    this.seriesCount++;
    const attributes: Attributes = { ...target.attributes };
    if (kind === OPERATION) {
      const names = OPERATION_NAMES[target.system]!;
      attributes['db.operation.name'] = names[operation] ?? OTHER;
    }
    if (error !== 0) attributes['error.type'] = this.errorNames[error]!;
    const series = new Series(attributes, kind);
    target.series.set(key, series);
    return series;
  }

  private *allTargets(): Iterable<Target> {
    for (const system of this.bySystem) for (const ports of system.values()) yield* ports.values();
    for (const other of this.others) if (other !== undefined) yield other;
    yield this.overflowTarget;
  }

  /** A producer for one reader; see HttpServerMetrics.producer for the temporality rules. */
  producer(temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE): MetricProducer {
    return durationsProducer(this.startTime, temporality, (now, sent, lastCollection) => this.collect(now, sent, lastCollection));
  }

  private collect(now: HrTime, sent: Sent, lastCollection: HrTime): MetricData[] {
    const delta = sent !== undefined;
    const startTime = delta ? lastCollection : this.startTime;
    const histogram = (name: string, description: string): MetricData & { dataPointType: DataPointType.HISTOGRAM } => ({
      descriptor: { name, description, unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [],
    });
    const byKind = [
      histogram(DB_INSTRUMENTS.operation, 'Duration of database client operations, until the caller gets the answer; a batch is one operation.'),
      histogram(DB_INSTRUMENTS.create, 'The time it took to create a new connection.'),
      histogram(DB_INSTRUMENTS.wait, 'The time it took to obtain an open connection from the pool.'),
    ];
    for (const target of this.allTargets()) {
      for (const series of target.series.values()) {
        pushDurations(byKind[series.kind]!.dataPoints, series, sent, startTime, now);
      }
    }
    return byKind.filter((m) => m.dataPoints.length > 0);
  }
}
