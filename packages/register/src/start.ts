// Builds the pipeline once per process: config -> resource -> readers -> MeterProvider (global)
// -> HTTP server and client instrumentation and host metrics.
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { MeterProvider, TimeoutError, type AggregationTemporality, type MetricProducer, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { HostMetricGroup, HostMetrics, Peek } from '@mon/host';
import { MON_START_FAILED, MON_SOURCE_FAILED, MON_TOO_MANY_SERIES, MON_TOO_MANY_HOSTS, MON_EXPORT_TIMEOUT, MON_TOO_MANY_ROUTES } from '@mon/warnings';
import { asPeek, clusterRole, WORKER_VIEWS, workerHostGroups } from './cluster/index.js';
import { loadConfig, type Config } from './config.js';
import { registerGlobalMeterProvider } from './app-api.js';
import { afterStartUp, cancelAfterStartUp } from './after-start-up.js';
import { createReaders } from './exporters.js';
import { DbMetrics, instrumentDatabases } from './db/index.js';
import { HttpClientMetrics, MAX_CLIENT_SERIES } from './http-client-metrics.js';
import { instrumentHttpClients } from './http-client.js';
import { HttpServerMetrics, type HistogramAggregation } from './http-server-metrics.js';
import { instrumentHttpServers } from './http-server.js';
import { HTTP2_CLIENT_CHANNELS, HTTP2_SERVER_CHANNELS, RpcMetrics, instrumentHttp2Clients, instrumentHttp2Servers, warnUncountedHttp2 } from './http2/index.js';
import { createPathFilter, createRouteResolver } from './routes.js';
import { buildResource } from './resource.js';
import { receiveWorkerThreads } from './worker-http.js';
import { flushOnExit } from './shutdown.js';
import { debug, describe, warn } from './warn.js';

/** What a running pipeline exposes; kept on globalThis so a second copy of mon finds it. */
export interface Pipeline {
  config: Readonly<Config>;
  meterProvider: MeterProvider;
  readers: MetricReader[];
  shutdown: () => Promise<void>;
}

const PIPELINE = Symbol.for('mon.pipeline');
type Global = typeof globalThis & { [PIPELINE]?: Pipeline | 'starting' | 'disabled' };

/**
 * Never throws and never rejects: telemetry failing to start costs one warning, not the app.
 */
export async function start(): Promise<Pipeline | undefined> {
  const global = globalThis as Global;
  // Loaded twice (`--import` given twice, flag plus NODE_OPTIONS, two installed copies): one pipeline.
  if (global[PIPELINE] !== undefined) {
    debug('already started; this copy does nothing');
    return typeof global[PIPELINE] === 'object' ? global[PIPELINE] : undefined;
  }
  global[PIPELINE] = 'starting';
  try {
    const pipeline = await build();
    global[PIPELINE] = pipeline ?? 'disabled';
    return pipeline;
  } catch (error) {
    global[PIPELINE] = 'disabled';
    warn(MON_START_FAILED, `could not start metrics (${describe(error)}); the app runs without them. NODE_DEBUG=mon shows more.`);
    debug('start failed: %o', error);
    return undefined;
  }
}

async function build(): Promise<Pipeline | undefined> {
  if (isPackageManager(process.argv[1])) {
    // NODE_OPTIONS is inherited by `npm start` itself: npm must not take the metrics port the app wants.
    debug('skipping package manager process %s', process.argv[1]);
    return undefined;
  }
  if (isPm2Process(process.argv[1])) {
    // Likewise pm2's CLI and daemon: the daemon would hold the base port that instance 0 serves on.
    debug("skipping pm2's own process %s", process.argv[1]);
    return undefined;
  }
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
  const stops: Array<() => void> = [];
  try {
    watch(config, { http, httpClient, db, rpcServer, rpcClient }, stops);
    return await buildPipeline(config, { http, httpClient, db, rpcServer, rpcClient }, stops);
  } catch (error) {
    for (const stop of stops) stop();
    throw error;
  }
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
interface Recorders {
  http: HttpServerMetrics | undefined;
  httpClient: HttpClientMetrics | undefined;
  db: DbMetrics | undefined;
  rpcServer: RpcMetrics | undefined;
  rpcClient: RpcMetrics | undefined;
}

async function buildPipeline(
  config: Readonly<Config>,
  { http, httpClient, db, rpcServer, rpcClient }: Recorders,
  stops: Array<() => void>,
): Promise<Pipeline> {
  const resource = buildResource(config, config.pm2?.script ?? process.argv[1]);
  const worker = clusterRole(config.pm2) === 'worker';
  // Host metrics start after the MeterProvider that needs the readers: bound late.
  let host: HostMetrics | undefined;
  // A peek covers this process's host metrics and, in a cluster primary, its workers' (cluster/peek.ts).
  const peek: Peek = (collect) => asPeek(() => (host === undefined ? collect() : host.peek(collect)));
  // Pre-aggregated metrics: cluster workers push these to the primary between scrapes (cluster/).
  const producersFor = (temporality: AggregationTemporality, histograms?: HistogramAggregation): MetricProducer[] => [
    ...(http ? [http.producer(temporality, histograms)] : []),
    ...(httpClient ? [httpClient.producer(temporality)] : []),
    ...(db ? [db.producer(temporality)] : []),
    ...(rpcServer ? [rpcServer.producer(temporality)] : []),
    ...(rpcClient ? [rpcClient.producer(temporality)] : []),
  ];
  const readers = await createReaders(config, producersFor, resource, peek);
  const meterProvider = new MeterProvider({
    resource,
    readers,
    // System-wide metrics come from the cluster primary only (cluster/worker-instruments.ts).
    ...(worker ? { views: WORKER_VIEWS } : {}),
  });
  debug('global MeterProvider registered through %s @opentelemetry/api', (await registerGlobalMeterProvider(meterProvider, config.pm2?.script ?? process.argv[1])) === 'app' ? "the app's" : "mon's own");

  let hostGroups = [...config.groups].filter((g): g is HostMetricGroup => g !== 'http' && g !== 'http-client' && g !== 'db');
  if (worker) hostGroups = workerHostGroups(hostGroups);
  if (hostGroups.length > 0) {
    let stopped = false;
    // Read at scrapes only; nothing the app does before then needs them (after-start-up.ts).
    stops.push(
      afterStartUp('host metrics', 'sources', async () => {
        // Imported here, not at the top: node:v8 and the host sources load with them.
        const { startHostMetrics } = await import('@mon/host');
        if (stopped) return;
        host = startHostMetrics(meterProvider, {
          groups: hostGroups,
          ...(config.diskPaths ? { diskPaths: config.diskPaths } : {}),
          warn,
          onError: (source, error) =>
            warn(MON_SOURCE_FAILED, `${source} metrics are unavailable (${describe(error)}); the other metrics carry on.`),
        });
      }),
      () => {
        stopped = true;
        host?.stop();
      },
    );
  }
  if (config.exporters.some((e) => e !== 'prometheus')) {
    // The SDK hands failures it cannot return to anyone to this handler (default: the diag
    // logger, silent unless the app set one). Export failures are already reported with their
    // cause by the exporter wrapper; a reader-level timeout is the one left to say.
    setGlobalErrorHandler((error) => {
      debug('OpenTelemetry SDK: %o', error);
      if (error instanceof TimeoutError) {
        warn(
          MON_EXPORT_TIMEOUT,
          `a metrics export took longer than ${config.exportTimeoutMillis} ms and was abandoned; raise OTEL_METRIC_EXPORT_TIMEOUT or check the backend.`,
        );
      }
    });
    stops.push(flushOnExit(() => meterProvider.forceFlush(), config.exportTimeoutMillis));
  }
  debug('started: exporters=%s groups=%s', config.exporters.join(',') || 'none', [...config.groups].join(','));
  return {
    config,
    meterProvider,
    readers,
    shutdown: async () => {
      cancelAfterStartUp();
      for (const stop of stops) stop();
      await meterProvider.shutdown();
    },
  };
}

function isPackageManager(script: string | undefined): boolean {
  return script !== undefined && /(?:^|[\\/])(npm|npx|npm-cli|npx-cli|yarn|yarnpkg|pnpm|pnpx|corepack)(\.c?js)?$/.test(script);
}

/**
 * pm2's CLI, its daemon (lib/Daemon.js) and pm2-runtime (the daemon in the foreground): they
 * supervise the app. Not lib/ProcessContainer*.js, which runs the app itself.
 */
function isPm2Process(script: string | undefined): boolean {
  // The CLI as run (node_modules/.bin/pm2, /usr/bin/pm2: argv[1] is not resolved through links) or as installed.
  return script !== undefined && /(?:^|[\\/])pm2(?:-dev|-docker|-runtime)?(?:\.js)?$|[\\/]pm2[\\/]lib[\\/]Daemon\.js$/.test(script);
}
