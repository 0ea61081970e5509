// Pre-aggregated HTTP client metrics (the calls the app makes), handed to readers as a
// MetricProducer, for the same reason as the server side (http-server-metrics.ts): an attribute
// set is built once per series, never hashed per call.
//
// Identity of a call: its target (scheme, server.address, server.port; targets are capped, the
// rest share one `_OTHER` target), its method, its status and its error type (both bounded too).
import { domainToASCII } from 'node:url';
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime } from './hr-time.js';
import type { MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType, ValueType } from './sdk-constants.js';
import { durationsProducer, pushDurations, type Sent } from './durations-producer.js';
import { Durations, KNOWN_METHODS } from './http-server-metrics.js';

export const CLIENT_INSTRUMENTS = {
  duration: 'http.client.request.duration',
  active: 'http.client.active_requests',
} as const;

/** The `server.address` (and error.type) of everything past a cap, as the semantic conventions name it. */
export const OTHER = '_OTHER';

const METHOD_NAMES = [...KNOWN_METHODS, '_OTHER'];
const METHODS = METHOD_NAMES.length;

/**
 * Distinct error.type values kept; the rest are `_OTHER`. Codes come from Node, undici and the
 * app's own errors (a custom `code` on an error passed to `req.destroy(err)`), so they are bounded here.
 */
export const MAX_ERROR_TYPES = 64;
/** A code or a class name: letters, digits and underscores, as Node's and undici's codes are. */
const ERROR_TYPE_SHAPE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/**
 * The 4xx and 5xx statuses of the IANA HTTP Status Code Registry (RFC 9110 and its updates), the
 * only ones an error.type names; any other is `_OTHER`.
 */
const REGISTERED_ERROR_STATUSES = new Set([
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451,
  500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);
/**
 * Longest server.address kept; a longer one is `_OTHER`, as a route over 128 characters is (a DNS
 * name may have 253, but real ones are far shorter). With MAX_CLIENT_SERIES it bounds what the
 * client side adds to /metrics: 100 hosts of 253 characters in 2000 series made 19.6 MB (README,
 * Security).
 */
export const MAX_ADDRESS_LENGTH = 128;
/** Series of outgoing calls kept over all targets (half the server side's 2000: see MAX_ADDRESS_LENGTH). */
export const MAX_CLIENT_SERIES = 1000;

/** One server the app calls: scheme, address and port. */
export class Target {
  /** Calls in flight by method index. */
  readonly active = new Array<number>(METHODS).fill(0);
  /** Methods ever called on this target, so only those show an active-requests series. */
  readonly seen = new Array<boolean>(METHODS).fill(false);
  /** key (see seriesKey) -> series. */
  readonly series = new Map<number, Durations>();
  /** The same server called over HTTP/2 (HttpClientMetrics.overHttp2), once it was. */
  http2: Target | undefined = undefined;
  constructor(readonly attributes: Readonly<Attributes>) {}
}

export interface HttpClientMetricsOptions {
  /** The most distinct targets (scheme, address, port); calls to others count under `_OTHER`. */
  maxHosts?: number;
  /** The most series over all targets; the rest count in one otel.metric.overflow=true series. */
  maxSeries?: number;
  /** Called once, the first time a call goes to `_OTHER` because of maxHosts. */
  onTooManyHosts?: () => void;
  /** Called once, the first time maxSeries is reached. */
  onOverflow?: () => void;
}

export class HttpClientMetrics {
  private readonly maxHosts: number;
  private readonly maxSeries: number;
  private readonly onTooManyHosts: () => void;
  private readonly onOverflow: () => void;
  /** Lookup key (an origin string) -> target. Holds at most 2 * maxHosts keys. */
  private readonly byOrigin = new Map<string, Target>();
  /** scheme://address:port -> target: at most maxHosts. */
  private readonly targets = new Map<string, Target>();
  /** node:http: Host header -> target, for http and https. Each holds at most 2 * maxHosts keys. */
  private readonly byHostHeader: [Map<string, Target>, Map<string, Target>] = [new Map(), new Map()];
  private readonly otherTargets: [Target | undefined, Target | undefined] = [undefined, undefined];
  private readonly errorTypes = new Map<string, number>([[OTHER, 1]]);
  /** error.type by index; 0 is "no error", 1 `_OTHER`. */
  private readonly errorNames: string[] = ['', OTHER];
  /** error.type index by status - 400 (4xx and 5xx); 0 until first seen. */
  private readonly byStatus = new Uint8Array(200);
  private readonly startTime: HrTime = hrTime();
  private seriesCount = 0;
  private warnedHosts = false;
  private overflow: Durations | undefined;
  private overflowTarget: Target | undefined;

  constructor(options: HttpClientMetricsOptions = {}) {
    this.maxHosts = options.maxHosts ?? 100;
    this.maxSeries = options.maxSeries ?? MAX_CLIENT_SERIES;
    this.onTooManyHosts = options.onTooManyHosts ?? (() => {});
    this.onOverflow = options.onOverflow ?? (() => {});
  }

  /** How many targets and lookup keys are held (tests check they stay bounded). */
  get size(): { targets: number; lookupKeys: number; errorTypes: number } {
    return {
      targets: this.targets.size,
      lookupKeys: this.byOrigin.size + this.byHostHeader[0].size + this.byHostHeader[1].size,
      errorTypes: this.errorTypes.size,
    };
  }

  /**
   * The target of an undici request, from its origin string (`http://host:port`, no default
   * port): one Map lookup after the first call.
   */
  targetOfOrigin(origin: string): Target {
    const known = this.byOrigin.get(origin);
    if (known !== undefined) return known;
    let scheme = 'http';
    let address = '';
    let port = 80;
    try {
      const url = new URL(origin);
      scheme = url.protocol === 'https:' ? 'https' : 'http';
      address = url.hostname;
      port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
    } catch {
      // Not a URL (a custom dispatcher): counted under _OTHER.
    }
    return this.remember(origin, this.target(scheme, address, port));
  }

  /**
   * The target of a node:http request: `host` is what it connects to, `hostHeader` its Host header,
   * which Node writes as `host` or `host:port` (the port left out when it is the scheme's default;
   * Node keeps the port nowhere else). Cached by that header: one Map lookup after the first call.
   * A Host header that the app set itself and that names another host (a proxy passing its
   * client's on) says nothing about the port: the scheme's default is used then.
   */
  targetOfHost(https: boolean, host: string, hostHeader: unknown): Target {
    const cache = this.byHostHeader[https ? 1 : 0];
    const header = typeof hostHeader === 'string' ? hostHeader : host;
    const known = cache.get(header);
    if (known !== undefined && afterHost(header, host) !== -1) return known;
    const at = afterHost(header, host);
    let port = https ? 443 : 80;
    if (at !== -1 && at < header.length) {
      const written = Number(header.slice(at + 1));
      if (Number.isInteger(written)) port = written;
    }
    const target = this.target(https ? 'https' : 'http', host, port);
    if (at !== -1 && cache.size < 2 * this.maxHosts) cache.set(header, target);
    return target;
  }

  private remember(key: string, target: Target): Target {
    // Beyond the cap, misses are resolved again each time rather than remembered: bounded memory
    // for a proxy that calls an unbounded set of hosts, at the cost of a URL parse per such call.
    if (this.byOrigin.size < 2 * this.maxHosts) this.byOrigin.set(key, target);
    return target;
  }

  private target(scheme: string, rawAddress: string, port: number): Target {
    // IPv6 literals come bracketed in URLs; the attribute holds the bare address.
    const bare = rawAddress.startsWith('[') && rawAddress.endsWith(']') ? rawAddress.slice(1, -1) : rawAddress;
    // As fetch writes it (the URL parser's host): lower case, punycode, so that one host is one
    // target whichever client called it (node:http keeps `Bücher.example` as the app wrote it); an
    // IPv6 address in lower case (domainToASCII refuses it bare; no DNS name has a colon). Only on a
    // lookup-cache miss. node:url is loaded in every process already; node:net (isIP) is not.
    const address = bare.includes(':') ? bare.toLowerCase() : domainToASCII(bare);
    const key = `${scheme}://${address}:${port}`;
    const known = this.targets.get(key);
    if (known !== undefined) return known;
    const valid = address !== '' && address.length <= MAX_ADDRESS_LENGTH && Number.isInteger(port) && port > 0 && port < 65536;
    if (!valid || this.targets.size >= this.maxHosts) {
      if (valid && !this.warnedHosts) {
        this.warnedHosts = true;
        this.onTooManyHosts();
      }
      return this.otherTarget(scheme === 'https' ? 1 : 0);
    }
    const target = new Target(Object.freeze({ 'server.address': address, 'server.port': port, 'url.scheme': scheme }));
    this.targets.set(key, target);
    return target;
  }

  /** One `_OTHER` target per scheme, without a port: the port of an unknown host says nothing. */
  private otherTarget(https: 0 | 1): Target {
    return (this.otherTargets[https] ??= new Target(Object.freeze({ 'server.address': OTHER, 'url.scheme': https ? 'https' : 'http' })));
  }

  /**
   * The target of a node:http2 call to the server `target` names: its series carry
   * network.protocol.version="2", as the server side's HTTP/2 series do (the conventions recommend
   * the attribute); HTTP/1.1 calls keep the attributes they always had. Made once per target, on its
   * first HTTP/2 call, and not counted against maxHosts (it is the same server): at most two
   * targets' worth of series per server, still within maxSeries.
   */
  overHttp2(target: Target): Target {
    return (target.http2 ??= new Target(Object.freeze({ ...target.attributes, 'network.protocol.version': '2' })));
  }

  /** error.type index for what a call failed with: 0 for nothing. */
  errorTypeOf(error: unknown): number {
    return this.errorIndex(errorTypeName(error));
  }

  private errorIndex(name: string): number {
    const known = this.errorTypes.get(name);
    if (known !== undefined) return known;
    if (this.errorTypes.size >= MAX_ERROR_TYPES) return 1;
    const index = this.errorNames.length;
    this.errorNames.push(name);
    this.errorTypes.set(name, index);
    return index;
  }

  /**
   * error.type index of a 4xx or 5xx answer: its status, one of the MAX_ERROR_TYPES like any other
   * error type (an upstream answering hundreds of odd statuses once made as many values); a status
   * outside the registered ones is `_OTHER`. An array lookup once seen.
   */
  private statusErrorType(status: number): number {
    const at = status - 400;
    const known = at < this.byStatus.length ? (this.byStatus[at] ?? 1) : 1;
    if (known !== 0) return known;
    const index = REGISTERED_ERROR_STATUSES.has(status) ? this.errorIndex(String(status)) : 1;
    this.byStatus[at] = index;
    return index;
  }

  callStarted(target: Target, method: number): void {
    target.active[method]!++;
    target.seen[method] = true;
  }

  /**
   * Once per call, when its response is fully received or it failed.
   * @param status the response's status code, 0 when none arrived.
   * @param error an index from errorTypeOf, 0 for none.
   */
  callEnded(target: Target, method: number, status: number, error: number, micros: number): void {
    target.active[method]!--;
    // The semantic conventions: a client call is in error when it failed, or got a 4xx or 5xx.
    if (error === 0 && status >= 400) error = this.statusErrorType(status);
    const key = (status * (MAX_ERROR_TYPES + 2) + error) * METHODS + method;
    const series = target.series.get(key) ?? this.newSeries(target, key, method, status, error);
    series.record(micros);
  }

  private newSeries(target: Target, key: number, method: number, status: number, error: number): Durations {
    if (this.seriesCount >= this.maxSeries) {
      if (this.overflow === undefined) {
        this.overflow = new Durations({ 'otel.metric.overflow': true });
        this.overflowTarget = new Target({});
        this.overflowTarget.series.set(-1, this.overflow);
        this.onOverflow();
      }
      return this.overflow;
    }
    this.seriesCount++;
    const attributes: Attributes = { 'http.request.method': METHOD_NAMES[method]!, ...target.attributes };
    if (status !== 0) attributes['http.response.status_code'] = status;
    if (error !== 0) attributes['error.type'] = this.errorNames[error]!;
    const series = new Durations(attributes);
    target.series.set(key, series);
    return series;
  }

  private *allTargets(): Iterable<Target> {
    for (const target of this.targets.values()) {
      yield target;
      if (target.http2 !== undefined) yield target.http2;
    }
    for (const other of this.otherTargets) {
      if (other === undefined) continue;
      yield other;
      if (other.http2 !== undefined) yield other.http2;
    }
    if (this.overflowTarget !== undefined) yield this.overflowTarget;
  }

  /** A producer for one reader; see HttpServerMetrics.producer for the temporality rules. */
  producer(temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE): MetricProducer {
    return durationsProducer(this.startTime, temporality, (now, sent, lastCollection) => this.collect(now, sent, lastCollection));
  }

  private collect(now: HrTime, sent: Sent, lastCollection: HrTime): MetricData[] {
    const delta = sent !== undefined;
    const startTime = delta ? lastCollection : this.startTime;
    const durations: MetricData & { dataPointType: DataPointType.HISTOGRAM } = {
      descriptor: {
        name: CLIENT_INSTRUMENTS.duration,
        description: 'Duration of HTTP client requests, until the response is fully received or the request fails.',
        unit: 's',
        valueType: ValueType.DOUBLE,
      },
      aggregationTemporality: delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [],
    };
    const active: MetricData & { dataPointType: DataPointType.SUM } = {
      descriptor: {
        name: CLIENT_INSTRUMENTS.active,
        description: 'Number of outbound HTTP requests in flight.',
        unit: '{request}',
        valueType: ValueType.INT,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: false,
      dataPoints: [],
    };
    for (const target of this.allTargets()) {
      for (const series of target.series.values()) {
        pushDurations(durations.dataPoints, series, sent, startTime, now);
      }
      for (let method = 0; method < METHODS; method++) {
        if (!target.seen[method]) continue;
        active.dataPoints.push({
          startTime: this.startTime,
          endTime: now,
          attributes: { 'http.request.method': METHOD_NAMES[method]!, ...target.attributes },
          value: target.active[method]!,
        });
      }
    }
    return [durations, active].filter((m) => m.dataPoints.length > 0);
  }
}

/**
 * Where `host` ends in a Host header that names it (`host`, `host:port`, `[host]:port` for IPv6),
 * or -1 when the header names another host. Allocates nothing.
 */
export function afterHost(header: string, host: string): number {
  let at = 0;
  if (header.charCodeAt(0) === 91 /* [ */ && host.charCodeAt(0) !== 91) {
    if (header.charCodeAt(host.length + 1) !== 93 /* ] */) return -1;
    at = 1;
  }
  if (!header.startsWith(host, at)) return -1;
  const end = at + host.length + at;
  if (end === header.length) return end;
  return header.charCodeAt(end) === 58 /* : */ ? end : -1;
}

/**
 * error.type for what a call failed with: never its message. An abort or a timeout is named for
 * its kind (fetch's carries the numeric DOMException code 20/23, node:http's ABORT_ERR); then the
 * error's code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET...), then its class name; `_OTHER` for
 * anything else (undici cancels an unread body that was garbage collected with a plain string).
 */
export function errorTypeName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return OTHER;
  let name: unknown;
  let code: unknown;
  try {
    ({ name, code } = error as { name?: unknown; code?: unknown });
  } catch {
    // The app's own error object with a throwing getter: a diagnostics channel subscriber that
    // throws would crash the app, so it is simply _OTHER.
    return OTHER;
  }
  if (name === 'AbortError' || name === 'TimeoutError') return name;
  if (typeof code === 'string' && ERROR_TYPE_SHAPE.test(code)) return code;
  if (typeof name === 'string' && ERROR_TYPE_SHAPE.test(name)) return name;
  return OTHER;
}
