// The only file that reads the environment. Standard OpenTelemetry variables first; MON_* only
// where none exists. Every bad value costs one warning line naming the variable, the value and
// what is used instead; nothing here throws.
import { createRequire } from 'node:module';
import path from 'node:path';
import { MON_BAD_ENV } from '@mon/warnings';
import { globProblem, routeTemplateProblem } from './path-pattern.js';
import { warn } from './warn.js';

export type ExporterName = 'prometheus' | 'otlp' | 'console';
export type MetricGroup = 'http' | 'http-client' | 'db' | 'cpu' | 'memory' | 'disk' | 'process' | 'runtime' | 'container';
export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type TemporalityPreference = 'cumulative' | 'delta' | 'lowmemory';

export const METRIC_GROUPS: readonly MetricGroup[] = ['http', 'http-client', 'db', 'cpu', 'memory', 'disk', 'process', 'runtime', 'container'];
const EXPORTERS: readonly string[] = ['prometheus', 'otlp', 'console', 'none'];
const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];
const TEMPORALITIES: readonly TemporalityPreference[] = ['cumulative', 'delta', 'lowmemory'];
/** OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION, as the OTLP exporter spec names them. */
export type HistogramAggregationPreference = 'explicit_bucket_histogram' | 'base2_exponential_bucket_histogram';
const HISTOGRAM_AGGREGATIONS: readonly HistogramAggregationPreference[] = ['explicit_bucket_histogram', 'base2_exponential_bucket_histogram'];

export interface OtlpConfig {
  protocol: OtlpProtocol;
  /** Full URL of the metrics endpoint (already with /v1/metrics where the spec appends it). */
  url: string;
  headers: Record<string, string>;
  timeoutMillis: number;
  compression: 'gzip' | 'none';
  temporality: TemporalityPreference;
  /** How histograms are exported: explicit buckets (default) or base-2 exponential. */
  histogramAggregation: HistogramAggregationPreference;
}

export interface Config {
  disabled: boolean;
  serviceName: string | undefined;
  /** Parsed OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes: Record<string, string>;
  exporters: ExporterName[];
  /** Set when pm2 runs this process: which of the app's instances it is. */
  pm2: Pm2Instance | undefined;
  prometheus: {
    host: string;
    /** OTEL_EXPORTER_PROMETHEUS_PORT, plus the pm2 instance number under pm2. */
    port: number;
    /** MON_METRICS_AUTH: a bearer token, or user:password for basic auth. */
    auth: { bearer: string } | { username: string; password: string } | undefined;
    /** The live page on GET / (MON_UI, default on). */
    ui: boolean;
  };
  otlp: OtlpConfig;
  exportIntervalMillis: number;
  exportTimeoutMillis: number;
  groups: Set<MetricGroup>;
  diskPaths: string[] | undefined;
  http: {
    ignorePaths: string[] | undefined;
    routePatterns: string[] | undefined;
    normalizePaths: boolean;
    maxRoutes: number;
  };
  httpClient: {
    /** MON_MAX_CLIENT_HOSTS: distinct (scheme, host, port) the app calls that get series of their own. */
    maxHosts: number;
  };
}

export interface Pm2Instance {
  /** pm2's NODE_APP_INSTANCE (or the variable its `instance_var` names): 0 … instances-1, kept across restarts. */
  instance: number;
  /** pm2's cluster mode: pm2's daemon is the node:cluster primary, and it runs no mon. */
  clusterMode: boolean;
  /** The app's script (pm_exec_path): the process's own argv[1] is pm2's wrapper in cluster mode. */
  script: string | undefined;
  /**
   * Where this instance keeps its totals for the process pm2 restarts in its place (the same
   * pm_id), and what says it is the same app (created_at: a `pm2 delete` and `start` starts over).
   */
  carryOver: { file: string; generation: string } | undefined;
}

type Env = Record<string, string | undefined>;

// Parenthesized functions: compiled with the preload, which runs them in every process (first-need.ts).
/**
 * What the preload decides before loading the rest of mon (first-need.ts), read without a warning:
 * a bad value is said once mon loads and reads everything (loadConfig).
 */
export const preloadConfig = (function preloadConfig(env: Env = process.env): { disabled: boolean; atOnce: boolean } {
  return {
    disabled: nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true',
    // A node:cluster worker (pm2's cluster mode too) answers its primary from its first moments (start.ts).
    atOnce: env.NODE_UNIQUE_ID !== undefined,
  };
});

export function loadConfig(processEnv: Env = process.env): Readonly<Config> {
  const env = withPm2Environment(processEnv);
  const pm2 = pm2Instance(env);
  const exportTimeoutMillis = positiveInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000);
  const chosen = exporters(env);
  // Settings of an exporter that is off are not read: no warning about a value that changes nothing.
  const servesPrometheus = chosen.includes('prometheus');
  const config: Config = {
    disabled: bool(env, 'OTEL_SDK_DISABLED', false),
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME),
    resourceAttributes: resourceAttributes(env),
    exporters: chosen,
    pm2,
    prometheus: {
      host: nonEmpty(env.OTEL_EXPORTER_PROMETHEUS_HOST) ?? 'localhost',
      port: servesPrometheus ? instancePort(env, pm2, port(env, 'OTEL_EXPORTER_PROMETHEUS_PORT', 9464)) : 9464,
      auth: metricsAuth(env.MON_METRICS_AUTH),
      ui: servesPrometheus ? onOff(env, 'MON_UI', true) : true,
    },
    otlp: otlp(env),
    exportIntervalMillis: positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000),
    exportTimeoutMillis,
    groups: groups(env),
    diskPaths: list(env.MON_DISK_PATHS),
    http: {
      ignorePaths: paths(env, 'MON_IGNORE_PATHS', globProblem),
      routePatterns: paths(env, 'MON_ROUTE_PATTERNS', routeTemplateProblem),
      normalizePaths: bool(env, 'MON_NORMALIZE_PATHS', false, true),
      maxRoutes: positiveInt(env, 'MON_MAX_ROUTES', 500, 'a whole number'),
    },
    httpClient: {
      maxHosts: positiveInt(env, 'MON_MAX_CLIENT_HOSTS', 100, 'a whole number'),
    },
  };
  return Object.freeze(config);
}

/**
 * pm2's cluster mode hands a worker its whole environment as one JSON variable, pm2_env, which
 * pm2's wrapper spreads into process.env only after the preload has run: read it as the app will
 * see it (the app's `env` from its ecosystem file included), pm2's values first, as pm2 does.
 */
function withPm2Environment(env: Env): Env {
  const raw = env.pm2_env;
  if (raw === undefined) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return env;
  }
  if (typeof parsed !== 'object' || parsed === null) return env;
  const merged: Env = { ...env };
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== null && value !== undefined && typeof value !== 'object') merged[name] = String(value);
  }
  return merged;
}

function pm2Instance(env: Env): Pm2Instance | undefined {
  if (env.pm_id === undefined) return undefined;
  const name = nonEmpty(env.PM2_PROCESS_INSTANCE_VAR) ?? nonEmpty(env.instance_var) ?? 'NODE_APP_INSTANCE';
  const raw = nonEmpty(env[name]);
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  // pm2's own default for PM2_HOME when it is not set.
  // node:os only here, under pm2 without HOME: loading it costs every process ~2 M instructions.
  const home = nonEmpty(env.PM2_HOME) ?? path.join(nonEmpty(env.HOME) ?? (createRequire(import.meta.url)('node:os') as typeof import('node:os')).homedir(), '.pm2');
  const id = nonEmpty(env.pm_id);
  const generation = nonEmpty(env.created_at);
  return {
    instance: Number(raw),
    clusterMode: env.exec_mode === 'cluster_mode',
    script: nonEmpty(env.pm_exec_path),
    carryOver: id !== undefined && /^\d+$/.test(id) && generation !== undefined ? { file: path.join(home, 'mon', `${id}.json`), generation } : undefined,
  };
}

/**
 * Under pm2 every instance serves its own metrics, on the base port plus its instance number
 * (docs/cluster.md, "pm2"), unless pm2 already increments the port variable itself (`increment_var`).
 */
function instancePort(env: Env, pm2: Pm2Instance | undefined, base: number): number {
  if (pm2 === undefined || pm2.instance === 0 || env.increment_var === 'OTEL_EXPORTER_PROMETHEUS_PORT') return base;
  const port = base + pm2.instance;
  if (port <= 65535) return port;
  warn(MON_BAD_ENV, `pm2 instance ${pm2.instance} would serve metrics on port ${port}, past 65535; using ${base}. Lower OTEL_EXPORTER_PROMETHEUS_PORT.`);
  return base;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function list(value: string | undefined): string[] | undefined {
  const items = value?.split(',').map((s) => s.trim()).filter(Boolean);
  return items && items.length > 0 ? items : undefined;
}

function bad(name: string, value: string, expected: string, used: string): void {
  warn(MON_BAD_ENV, `${name}=${JSON.stringify(value)} is not ${expected}; using ${used}.`);
}

/** `true`/`false`; MON_* flags also take `1`/`0`. */
function bool(env: Env, name: string, fallback: boolean, numeric = false): boolean {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (lower === 'true' || (numeric && lower === '1')) return true;
  if (lower === 'false' || (numeric && lower === '0')) return false;
  bad(name, raw, numeric ? 'true, false, 1 or 0' : 'true or false', String(fallback));
  return fallback;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['on', 'true', '1'].includes(lower)) return true;
  if (['off', 'false', '0'].includes(lower)) return false;
  bad(name, raw, 'on or off', fallback ? 'on' : 'off');
  return fallback;
}

/** `user:password` means basic auth; anything else is a bearer token. The value is never echoed. */
function metricsAuth(raw: string | undefined): Config['prometheus']['auth'] {
  if (raw === undefined || raw === '') return undefined;
  // `Bearer <token>`: a token that contains ':' would otherwise be read as user:password.
  const bearer = /^bearer\s+(\S.*)$/i.exec(raw);
  if (bearer !== null) return { bearer: bearer[1]! };
  const colon = raw.indexOf(':');
  if (colon > 0) return { username: raw.slice(0, colon), password: raw.slice(colon + 1) };
  return { bearer: raw };
}

/** A comma list of URL paths; entries not starting with `/` are dropped with a warning. */
/** A list of path patterns; `problem` says why one is unusable (path-pattern.ts), which drops it. */
function paths(env: Env, name: string, problem: (pattern: string) => string | undefined): string[] | undefined {
  const items = list(env[name]);
  if (items === undefined) return undefined;
  const good: string[] = [];
  for (const item of items) {
    const why = problem(item);
    if (why === undefined) good.push(item);
    else warn(MON_BAD_ENV, `${name} entry ${JSON.stringify(item)} is unusable (${why}); it is ignored, the other entries apply.`);
  }
  return good.length > 0 ? good : undefined;
}

function positiveInt(env: Env, name: string, fallback: number, what = 'a whole number of milliseconds'): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  // 2^31-1: the largest delay setTimeout honours (beyond it Node fires at once), and plenty for counts.
  if (/^\d+$/.test(raw) && value > 0 && value <= 2_147_483_647) return value;
  bad(name, raw, `${what} (1-2147483647)`, String(fallback));
  return fallback;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (/^\d+$/.test(raw) && value >= 1 && value <= 65535) return value;
  bad(name, raw, 'a port (1-65535)', String(fallback));
  return fallback;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase() as T;
  if (allowed.includes(lower)) return lower;
  bad(name, raw, `one of ${allowed.join(', ')}`, fallback);
  return fallback;
}

function exporters(env: Env): ExporterName[] {
  const raw = nonEmpty(env.OTEL_METRICS_EXPORTER);
  if (raw === undefined) return ['prometheus'];
  const items = raw.toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((item) => !EXPORTERS.includes(item));
  // The spec lets `none` win outright.
  if (items.includes('none')) return [];
  const chosen = [...new Set(items.filter((item): item is ExporterName => EXPORTERS.includes(item)))];
  if (chosen.length === 0) {
    bad('OTEL_METRICS_EXPORTER', raw, `a list of ${EXPORTERS.join(', ')}`, 'prometheus');
    return ['prometheus'];
  }
  if (unknown.length > 0) {
    warn(
      MON_BAD_ENV,
      `OTEL_METRICS_EXPORTER names unknown exporters ${JSON.stringify(unknown.join(','))} (known: ${EXPORTERS.join(', ')}); using ${chosen.join(',')}.`,
    );
  }
  return chosen;
}

function groups(env: Env): Set<MetricGroup> {
  const items = list(env.MON_METRICS);
  if (items === undefined) return new Set(METRIC_GROUPS);
  const chosen = new Set<MetricGroup>();
  for (const item of items.map((s) => s.toLowerCase())) {
    if ((METRIC_GROUPS as readonly string[]).includes(item)) chosen.add(item as MetricGroup);
    else if (item === 'all') for (const g of METRIC_GROUPS) chosen.add(g);
    else
      warn(
        MON_BAD_ENV,
        `MON_METRICS names an unknown group ${JSON.stringify(item)} (known: ${METRIC_GROUPS.join(', ')}); ignoring it.`);
  }
  return chosen;
}

/**
 * OTEL_RESOURCE_ATTRIBUTES: `key=value,key2=value2`, values percent-encoded (W3C Baggage rules).
 * A malformed pair is skipped with a warning; the rest is kept.
 */
function resourceAttributes(env: Env): Record<string, string> {
  const raw = nonEmpty(env.OTEL_RESOURCE_ATTRIBUTES);
  const attributes: Record<string, string> = {};
  if (raw === undefined) return attributes;
  const malformed: string[] = [];
  for (const pair of raw.split(',')) {
    if (!pair.trim()) continue;
    const parsed = keyValue(pair);
    if (parsed === undefined) malformed.push(pair);
    else attributes[parsed[0]] = parsed[1];
  }
  if (malformed.length > 0) {
    warn(
      MON_BAD_ENV,
      `OTEL_RESOURCE_ATTRIBUTES has malformed pairs ${JSON.stringify(malformed.join(','))} (expected key=value, value percent-encoded); skipping them.`,
    );
  }
  return attributes;
}

/** `key=value` with a percent-encoded value, or undefined when malformed. */
function keyValue(pair: string): [string, string] | undefined {
  const eq = pair.indexOf('=');
  const key = eq > 0 ? pair.slice(0, eq).trim() : '';
  if (!key) return undefined;
  try {
    return [key, decodeURIComponent(pair.slice(eq + 1).trim())];
  } catch {
    return undefined;
  }
}

/** `k=v,k2=v2` with percent-encoded values, as OTEL_EXPORTER_OTLP_HEADERS. */
function headers(env: Env, name: string): Record<string, string> {
  const raw = nonEmpty(env[name]);
  const result: Record<string, string> = {};
  if (raw === undefined) return result;
  let malformed = 0;
  for (const pair of raw.split(',')) {
    if (!pair.trim()) continue;
    const parsed = keyValue(pair);
    if (parsed === undefined) malformed++;
    else result[parsed[0].toLowerCase()] = parsed[1];
  }
  // Header values may carry secrets: the warning names neither keys nor values.
  if (malformed > 0) warn(MON_BAD_ENV, `${name} has ${malformed} malformed entries (expected key=value, value percent-encoded); skipping them.`);
  return result;
}

function url(env: Env, name: string): URL | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  try {
    const parsed = new URL(raw);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed;
  } catch {
    // fall through to the warning
  }
  warn(MON_BAD_ENV, `${name}=${JSON.stringify(raw)} is not an http(s) URL; ignoring it.`);
  return undefined;
}

/** The spec's precedence: a signal-specific variable beats the general one, which beats the default. */
function otlp(env: Env): OtlpConfig {
  const pick = (suffix: string): string => (nonEmpty(env[`OTEL_EXPORTER_OTLP_METRICS_${suffix}`]) !== undefined ? `OTEL_EXPORTER_OTLP_METRICS_${suffix}` : `OTEL_EXPORTER_OTLP_${suffix}`);
  const protocolName = pick('PROTOCOL');
  let protocol: OtlpProtocol = 'http/protobuf';
  if (nonEmpty(env[protocolName])?.toLowerCase() === 'grpc') {
    // gRPC would add @grpc/grpc-js (several MB) to every install for a minority of backends;
    // every OTLP receiver (Collector, Prometheus, vendors) also takes http/protobuf on 4318.
    warn(MON_BAD_ENV, `${protocolName}=grpc is not supported by mon; using http/protobuf (port 4318 by default).`);
  } else {
    protocol = oneOf(env, protocolName, PROTOCOLS, 'http/protobuf');
  }
  const specific = url(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  const general = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let target: string;
  if (specific) target = specific.href;
  else if (general) {
    // The general endpoint is a base: the signal path is appended to it.
    target = new URL(general.pathname.replace(/\/?$/, '/v1/metrics'), general).href;
  } else target = 'http://localhost:4318/v1/metrics';
  const compressionName = pick('COMPRESSION');
  const compression = oneOf(env, compressionName, ['gzip', 'none'] as const, 'none');
  return {
    protocol,
    url: target,
    headers: { ...headers(env, 'OTEL_EXPORTER_OTLP_HEADERS'), ...headers(env, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS') },
    timeoutMillis: positiveInt(env, pick('TIMEOUT'), 10_000),
    compression,
    temporality: oneOf(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', TEMPORALITIES, 'cumulative'),
    histogramAggregation: oneOf(env, 'OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION', HISTOGRAM_AGGREGATIONS, 'explicit_bucket_histogram'),
  };
}
