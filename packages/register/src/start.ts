// Builds the pipeline once per process: config -> resource -> readers -> MeterProvider (global)
// -> HTTP server instrumentation and host metrics.
import { metrics } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { MeterProvider, TimeoutError, type MetricReader } from '@opentelemetry/sdk-metrics';
import { startHostMetrics, type HostMetricGroup, type HostMetrics } from '@mon/host';
import { asPeek, isClusterWorker, WORKER_VIEWS, workerHostGroups } from './cluster.js';
import { loadConfig, type Config } from './config.js';
import { createReaders } from './exporters.js';
import { HttpServerMetrics } from './http-server-metrics.js';
import { instrumentHttpServers } from './http-server.js';
import { buildResource } from './resource.js';
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
    warn('MON_START_FAILED', `could not start metrics (${describe(error)}); the app runs without them. NODE_DEBUG=mon shows more.`);
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
  const config = loadConfig();
  if (config.disabled) {
    debug('OTEL_SDK_DISABLED=true: nothing started');
    return undefined;
  }
  const http = config.groups.has('http')
    ? new HttpServerMetrics(2000, () =>
        warn(
          'MON_TOO_MANY_SERIES',
          'HTTP server metrics reached 2000 series; further combinations are counted under otel_metric_overflow="true". Check for odd status codes or routes.',
        ),
      )
    : undefined;
  const resource = buildResource(config, process.argv[1]);
  // Host metrics start after the MeterProvider that needs the readers: bound late.
  let host: HostMetrics | undefined;
  // A peek covers this process's host metrics and, in a cluster primary, its workers' (cluster.ts).
  const peek = <T>(collect: () => T): T => asPeek(() => (host === undefined ? collect() : host.peek(collect)));
  const readers = await createReaders(config, (temporality, histograms) => (http ? [http.producer(temporality, histograms)] : []), resource, peek);
  const meterProvider = new MeterProvider({
    resource,
    readers,
    // System-wide metrics come from the cluster primary only (cluster.ts).
    ...(isClusterWorker ? { views: WORKER_VIEWS } : {}),
  });
  metrics.setGlobalMeterProvider(meterProvider);

  const stops: Array<() => void> = [];
  if (http) stops.push(instrumentHttpServers(http, config.http));
  let hostGroups = [...config.groups].filter((g): g is HostMetricGroup => g !== 'http');
  if (isClusterWorker) hostGroups = workerHostGroups(hostGroups);
  if (hostGroups.length > 0) {
    host = startHostMetrics(meterProvider, {
      groups: hostGroups,
      ...(config.diskPaths ? { diskPaths: config.diskPaths } : {}),
      onError: (source, error) =>
        warn('MON_SOURCE_FAILED', `${source} metrics are unavailable (${describe(error)}); the other metrics carry on.`),
    });
    stops.push(host.stop);
  }
  if (config.exporters.some((e) => e !== 'prometheus')) {
    // The SDK hands failures it cannot return to anyone to this handler (default: the diag
    // logger, silent unless the app set one). Export failures are already reported with their
    // cause by the exporter wrapper; a reader-level timeout is the one left to say.
    setGlobalErrorHandler((error) => {
      debug('OpenTelemetry SDK: %o', error);
      if (error instanceof TimeoutError) {
        warn(
          'MON_EXPORT_TIMEOUT',
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
      for (const stop of stops) stop();
      await meterProvider.shutdown();
    },
  };
}

function isPackageManager(script: string | undefined): boolean {
  return script !== undefined && /(?:^|[\\/])(npm|npx|npm-cli|npx-cli|yarn|yarnpkg|pnpm|pnpx|corepack)(\.c?js)?$/.test(script);
}
