// What mon does once it is first needed (first-need.ts: the preload itself loads nothing else
// until then), or at once in a cluster worker, under `-r` and on a Node without require() of ES
// modules: config -> the pre-aggregating recorders, watching their channels (HTTP servers and
// clients, databases, HTTP/2) -> a global MeterProvider that stands in for the SDK's until it is
// built. Everything else (pipeline.ts: sdk-metrics, the resource, readers, exporters, the
// endpoint, host metrics) is imported on first need of its own:
// - a second after the preload (after-start-up.ts: an unref'd timer a short-lived process never reaches);
// - the first meter the app asks for (lazy-meter-provider.ts: its instruments record from the start);
// - the first message of mon's from a child process: a cluster worker's hello (cluster/early-children.ts);
// - at once in a cluster worker or pm2 instance, whose primary or port expects it as before;
// - at exit, with a push exporter, when anything was recorded (the last export must go out).
// Why: every process that inherits NODE_OPTIONS paid for loading and building all of it, and most
// (`node -e`, a test runner's workers, a CLI) never serve or record anything. Measured with
// callgrind (test/bench/RESULTS.md, "Start-up instructions").
import { MON_START_FAILED, MON_TOO_MANY_SERIES, MON_TOO_MANY_HOSTS, MON_TOO_MANY_ROUTES } from '@mon/warnings';
import { watchEarlyChildren, type EarlyChildren } from './cluster/early-children.js';
import { clusterRole } from './cluster/role.js';
import { loadConfig, type Config } from './config.js';
import { registerGlobalMeterProvider } from './app-api.js';
import { afterStartUp, cancelAfterStartUp, startUpBegan } from './after-start-up.js';
import { DbMetrics, instrumentDatabases } from './db/index.js';
import { HttpClientMetrics, MAX_CLIENT_SERIES } from './http-client-metrics.js';
import { instrumentHttpClients } from './http-client.js';
import { HttpServerMetrics } from './http-server-metrics.js';
import { instrumentHttpServers } from './http-server.js';
import type { StandInMeterProvider } from './first-need.js';
import { isSupervisor } from './supervisors.js';
import { HTTP2_CLIENT_CHANNELS, HTTP2_SERVER_CHANNELS, RpcMetrics, instrumentHttp2Clients, instrumentHttp2Servers, warnUncountedHttp2 } from './http2/index.js';
import { LazyMeterProvider } from './lazy-meter-provider.js';
import type { Pipeline } from './pipeline.js';
import { createPathFilter, createRouteResolver } from './routes.js';
import { receiveWorkerThreads } from './worker-http.js';
import { flushOnExit } from './shutdown.js';
import { debug, describe, warn } from './warn.js';

/** What the preload started; kept on globalThis so a second copy of mon finds it. */
export interface Started {
  config: Readonly<Config>;
  /** Builds the pipeline, once (later calls get the same promise); undefined if it failed (warned). */
  pipeline: () => Promise<Pipeline | undefined>;
  shutdown: () => Promise<void>;
}

const PIPELINE = Symbol.for('mon.pipeline');
type Global = typeof globalThis & { [PIPELINE]?: Started | 'starting' | 'disabled' };

/** What the preload did before it loaded this on first need (first-need.ts). */
export interface Handoff {
  /** Registered as the global MeterProvider; gets mon's LazyMeterProvider before start() returns. */
  standIn: StandInMeterProvider;
  /** When the preload ran (Date.now()): the deferred set-up waits from then (after-start-up.ts). */
  preloadedAt: number;
}

/**
 * Never throws and never rejects: telemetry failing to start costs one warning, not the app.
 * With a handoff (first-need.ts, which already claimed the global below), everything up to the
 * recorders' subscriptions and the stand-in's provider runs before the first await.
 */
export async function start(handoff?: Handoff): Promise<Started | undefined> {
  const global = globalThis as Global;
  // Loaded twice (`--import` given twice, flag plus NODE_OPTIONS, two installed copies): one pipeline.
  if (handoff === undefined && global[PIPELINE] !== undefined) {
    debug('already started; this copy does nothing');
    return typeof global[PIPELINE] === 'object' ? global[PIPELINE] : undefined;
  }
  global[PIPELINE] = 'starting';
  if (handoff !== undefined) startUpBegan(handoff.preloadedAt);
  try {
    const started = await build(handoff);
    global[PIPELINE] = started ?? 'disabled';
    return started;
  } catch (error) {
    global[PIPELINE] = 'disabled';
    warn(MON_START_FAILED, `could not start metrics (${describe(error)}); the app runs without them. NODE_DEBUG=mon shows more.`);
    debug('start failed: %o', error);
    return undefined;
  }
}

async function build(handoff: Handoff | undefined): Promise<Started | undefined> {
  // Again here: the -r entry (require.ts) starts without first-need.ts's check. A handoff means
  // first-need.ts made it (its regular expressions would be compiled again here, in the first need).
  if (handoff === undefined && isSupervisor(process.argv[1])) return undefined;
  const config = loadConfig();
  if (config.disabled) {
    debug('OTEL_SDK_DISABLED=true: nothing started');
    return undefined;
  }
  const http = config.groups.has('http')
    ? new HttpServerMetrics(2000, () =>
        warn(
          MON_TOO_MANY_SERIES,
          'HTTP server metrics reached 2000 series; further combinations are counted under otel_metric_overflow="true". Check for odd status codes or routes.',
        ),
      )
    : undefined;
  const httpClient = config.groups.has('http-client')
    ? new HttpClientMetrics({
        maxHosts: config.httpClient.maxHosts,
        onTooManyHosts: () =>
          warn(
            MON_TOO_MANY_HOSTS,
            `the app called more than ${config.httpClient.maxHosts} distinct hosts; calls to further ones are counted under server_address="_OTHER". Raise MON_MAX_CLIENT_HOSTS if the set is bounded.`,
          ),
        onOverflow: () =>
          warn(
            MON_TOO_MANY_SERIES,
            `HTTP client metrics reached ${MAX_CLIENT_SERIES} series; further combinations are counted under otel_metric_overflow="true". Check for odd status codes or hosts.`,
          ),
      })
    : undefined;
  // Database servers share the HTTP client's target cap (MON_MAX_CLIENT_HOSTS), counted on their own.
  const db = config.groups.has('db')
    ? new DbMetrics({
        maxHosts: config.httpClient.maxHosts,
        onTooManyHosts: () =>
          warn(
            MON_TOO_MANY_HOSTS,
            `the app used more than ${config.httpClient.maxHosts} distinct database servers; operations on further ones are counted under server_address="_OTHER". Raise MON_MAX_CLIENT_HOSTS if the set is bounded.`,
          ),
        onOverflow: () =>
          warn(
            MON_TOO_MANY_SERIES,
            `database client metrics reached ${MAX_CLIENT_SERIES} series; further combinations are counted under otel_metric_overflow="true". Check for odd error types or servers.`,
          ),
      })
    : undefined;
  // gRPC calls (Node 22+): served ones with the HTTP server group, made ones with the client group.
  const rpcOptions = (side: string) => ({
    maxMethods: config.http.maxRoutes,
    onTooManyMethods: () =>
      warn(
        MON_TOO_MANY_ROUTES,
        `more than ${config.http.maxRoutes} distinct gRPC methods ${side}; further ones are counted as rpc_method="_OTHER". Raise MON_MAX_ROUTES if the app really has that many.`,
      ),
    onOverflow: () => warn(MON_TOO_MANY_SERIES, `gRPC ${side === 'served' ? 'server' : 'client'} metrics reached 2000 series; further combinations are counted under otel_metric_overflow="true".`),
  });
  const rpcServer = http && HTTP2_SERVER_CHANNELS ? new RpcMetrics('server', rpcOptions('served')) : undefined;
  const rpcClient = httpClient && HTTP2_CLIENT_CHANNELS ? new RpcMetrics('client', rpcOptions('called')) : undefined;
  // HTTP servers and clients are watched before the first await: under `-r @mon/register`
  // (require.ts) Node does not wait for the rest of start-up before it runs the app, and the
  // first request must still be counted. Under --import the order changes nothing.
  const recorders: Recorders = { http, httpClient, db, rpcServer, rpcClient };
  const stops: Array<() => void> = [];
  try {
    watch(config, recorders, stops);
    return await standIn(config, recorders, stops, handoff);
  } catch (error) {
    for (const stop of stops) stop();
    throw error;
  }
}

/**
 * The global MeterProvider and the triggers that build the pipeline (see the top of this file).
 * Under `-r` (require.ts) the app may already run while this awaits the global's registration.
 */
async function standIn(config: Readonly<Config>, recorders: Recorders, stops: Array<() => void>, handoff: Handoff | undefined): Promise<Started> {
  const role = clusterRole(config.pm2);
  let building: Promise<Pipeline | undefined> | undefined;
  let shutDown = false;
  const global = new LazyMeterProvider(() => void pipeline());
  handoff?.standIn.use(global);
  // A primary's workers say hello once; they reach it only through the Prometheus reader.
  const earlyChildren: EarlyChildren | undefined =
    role === 'primary' && config.exporters.includes('prometheus') ? watchEarlyChildren(() => void pipeline()) : undefined;
  const pipeline = (): Promise<Pipeline | undefined> =>
    (building ??= (async () => {
      try {
        if (shutDown) return undefined;
        const { buildPipeline } = await import('./pipeline.js');
        const built = await buildPipeline(config, recorders, global, earlyChildren);
        stops.push(...built.stops);
        return built;
      } catch (error) {
        global.drop();
        earlyChildren?.take();
        warn(MON_START_FAILED, `could not start metrics (${describe(error)}); the app runs without them. NODE_DEBUG=mon shows more.`);
        debug('building the pipeline failed: %o', error);
        return undefined;
      }
    })());
  if (handoff === undefined) {
    const mainScript = config.pm2?.script ?? process.argv[1];
    debug('global MeterProvider registered through %s @opentelemetry/api', (await registerGlobalMeterProvider(global, mainScript)) === 'app' ? "the app's" : "mon's own");
  }
  stops.push(afterStartUp('the metrics pipeline', 'pipeline', async () => void (await pipeline())));
  if (config.exporters.some((e) => e !== 'prometheus')) {
    // The last export at exit. A process that recorded nothing (no request, no call, no meter)
    // has nothing to send: it exits without loading the SDK.
    stops.push(
      flushOnExit(async () => {
        if (building === undefined && !global.asked && !(await recorded(recorders))) return;
        await (await pipeline())?.meterProvider.forceFlush();
      }, config.exportTimeoutMillis),
    );
  }
  // A cluster worker answers its primary from its first moments, and a pm2 instance serves its own
  // port: as before, the preload waits for their pipeline.
  if (role !== 'primary') await pipeline();
  debug('started: exporters=%s groups=%s', config.exporters.join(',') || 'none', [...config.groups].join(','));
  return {
    config,
    pipeline,
    shutdown: async () => {
      shutDown = true;
      cancelAfterStartUp();
      earlyChildren?.take();
      const built = await building;
      for (const stop of stops) stop();
      await built?.meterProvider.shutdown();
    },
  };
}

/** Whether any recorder has counted something (its producer collects without the SDK). */
async function recorded({ http, httpClient, db, rpcServer, rpcClient }: Recorders): Promise<boolean> {
  for (const recorder of [http, httpClient, db, rpcServer, rpcClient]) {
    if (recorder === undefined) continue;
    const { resourceMetrics } = await recorder.producer().collect();
    if (resourceMetrics.scopeMetrics.some((scope) => scope.metrics.some((metric) => metric.dataPoints.length > 0))) return true;
  }
  return false;
}

/** Subscribes the recorders of the groups that are on to their channels; each stop goes on `stops`. */
function watch(config: Readonly<Config>, { http, httpClient, db, rpcServer, rpcClient }: Recorders, stops: Array<() => void>): void {
  if (http) {
    // One route resolver for HTTP/1 and HTTP/2: one route budget, one set of framework hooks.
    const options = config.http;
    const routes = createRouteResolver({ patterns: options.routePatterns, normalize: options.normalizePaths, maxRoutes: options.maxRoutes });
    stops.push(instrumentHttpServers(http, options, routes), receiveWorkerThreads(http));
    if (HTTP2_SERVER_CHANNELS) {
      const ignored = options.ignorePaths ? createPathFilter(options.ignorePaths) : undefined;
      stops.push(instrumentHttp2Servers({ http, rpc: rpcServer, routes, ignored }));
    }
  }
  if (httpClient) {
    stops.push(instrumentHttpClients(httpClient));
    if (HTTP2_CLIENT_CHANNELS) stops.push(instrumentHttp2Clients(httpClient, rpcClient));
  }
  if (http || httpClient) stops.push(warnUncountedHttp2());
  if (db) stops.push(instrumentDatabases(db));
}

/** The pre-aggregating recorders of the groups that are on, watching since before the first await. */
export interface Recorders {
  http: HttpServerMetrics | undefined;
  httpClient: HttpClientMetrics | undefined;
  db: DbMetrics | undefined;
  rpcServer: RpcMetrics | undefined;
  rpcClient: RpcMetrics | undefined;
}
