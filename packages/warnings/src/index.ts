// Every warning code mon raises, declared once (undici's lib/core/errors.js, Node's internal
// errors.js): a code is a stable name users filter and search for, so it is never spelled anywhere
// else. docs/troubleshooting.md's "## Warnings" table says what to do about each; test/warnings.test.ts keeps the
// two in step and fails on a `'MON_…'` literal in any other source file.
//
// Why a package of its own: @mon/host and @mon/prometheus each work alone and neither depends on
// the other, yet both raise codes (MON_SOURCE_FAILED; MON_METRICS_PORT and others). A table inside
// either would make the other depend on it (and @mon/host would drag sdk-metrics peers in, or
// @mon/prometheus all of host's metrics). This leaf has no dependencies and nothing but constants
// and one tiny function; @mon/register bundles it, so the preload loads no extra module.

/** A variable's value is unusable; the line names it, the value and what is used instead. */
export const MON_BAD_ENV = 'MON_BAD_ENV';
/** The pipeline, or a part started after the app's start-up (host metrics, the endpoint), could not start; the line names which. */
export const MON_START_FAILED = 'MON_START_FAILED';
/** One exporter could not start; the others run. */
export const MON_EXPORTER_FAILED = 'MON_EXPORTER_FAILED';
/** /metrics cannot be served: the port is taken or denied, or the host or port is bad (preload or standalone reader). */
export const MON_METRICS_PORT = 'MON_METRICS_PORT';
/** A metric callback threw; its metrics are left out of that scrape. */
export const MON_CALLBACK_FAILED = 'MON_CALLBACK_FAILED';
/** An instrument cannot be written in the exposition format asked for. */
export const MON_METRIC_DROPPED = 'MON_METRIC_DROPPED';
/** A host or runtime source is unavailable (a disk path, /proc); the other metrics carry on. */
export const MON_SOURCE_FAILED = 'MON_SOURCE_FAILED';
/** More distinct routes than MON_MAX_ROUTES; later ones are counted as _OTHER. */
export const MON_TOO_MANY_ROUTES = 'MON_TOO_MANY_ROUTES';
/** A route over the length limit; counted as _OTHER. */
export const MON_ROUTE_TOO_LONG = 'MON_ROUTE_TOO_LONG';
/** An instrument reached its series limit; the rest go under otel_metric_overflow. */
export const MON_TOO_MANY_SERIES = 'MON_TOO_MANY_SERIES';
/** More hosts called than MON_MAX_CLIENT_HOSTS; later ones are counted as _OTHER. */
export const MON_TOO_MANY_HOSTS = 'MON_TOO_MANY_HOSTS';
/** A framework (Fastify, Koa, hapi) is not shaped as mon expects; its requests lose http.route. */
export const MON_FRAMEWORK_CHANGED = 'MON_FRAMEWORK_CHANGED';
/** A cluster worker whose primary does not run mon. */
export const MON_CLUSTER_NO_PRIMARY = 'MON_CLUSTER_NO_PRIMARY';
/** A pm2 instance cannot keep its totals on disk; its counters restart from zero with it. */
export const MON_PM2_CARRY_OVER = 'MON_PM2_CARRY_OVER';
/** An OTLP export failed (said once per kind of failure); exports continue. */
export const MON_EXPORT_FAILED = 'MON_EXPORT_FAILED';
/** An export took longer than OTEL_METRIC_EXPORT_TIMEOUT. */
export const MON_EXPORT_TIMEOUT = 'MON_EXPORT_TIMEOUT';
/** The last interval could not be sent at exit. */
export const MON_FLUSH_FAILED = 'MON_FLUSH_FAILED';
/** V8's heap limit is at or above the container's memory limit: the OOM killer, not a heap error, will end the process. */
export const MON_HEAP_ABOVE_LIMIT = 'MON_HEAP_ABOVE_LIMIT';
/** An HTTP/2 server listens on Node 20, which has no http2 channels: its requests and gRPC calls are not counted. */
export const MON_HTTP2_NOT_COUNTED = 'MON_HTTP2_NOT_COUNTED';

/** The list: a constant left out of it is no `WarningCode`, so no call site can raise it. */
export const WARNING_CODES = [
  MON_BAD_ENV,
  MON_START_FAILED,
  MON_EXPORTER_FAILED,
  MON_METRICS_PORT,
  MON_CALLBACK_FAILED,
  MON_METRIC_DROPPED,
  MON_SOURCE_FAILED,
  MON_TOO_MANY_ROUTES,
  MON_ROUTE_TOO_LONG,
  MON_TOO_MANY_SERIES,
  MON_TOO_MANY_HOSTS,
  MON_FRAMEWORK_CHANGED,
  MON_CLUSTER_NO_PRIMARY,
  MON_PM2_CARRY_OVER,
  MON_EXPORT_FAILED,
  MON_EXPORT_TIMEOUT,
  MON_FLUSH_FAILED,
  MON_HEAP_ABOVE_LIMIT,
  MON_HTTP2_NOT_COUNTED,
] as const;

export type WarningCode = (typeof WARNING_CODES)[number];

/**
 * The one shape every warning leaves through: a code from the list and one line saying the cause,
 * what mon does instead and the fix. Under @mon/register it is the preload's stderr line
 * (register/src/warn.ts), passed down to the reader it builds; a package used alone defaults to
 * `processWarning`.
 */
export type Warn = (code: WarningCode, message: string) => void;

/** The standalone packages' default: a `MonWarning` process warning, which `--no-warnings` silences. */
export const processWarning: Warn = (code, message) => process.emitWarning(message, { type: 'MonWarning', code });
