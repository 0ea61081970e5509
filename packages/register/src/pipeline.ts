// The OpenTelemetry side, built on first need (start.ts says when): resource -> readers ->
// MeterProvider (behind the global one the app got at preload) -> host metrics. Imported
// dynamically, so a process that never needs it (`node -e`, a CLI) never loads sdk-metrics, the
// resource, the readers or the cluster code.
import { setGlobalErrorHandler } from '@opentelemetry/core';
import {
  MeterProvider,
  TimeoutError,
  type AggregationTemporality,
  type CollectionResult,
  type MetricProducer,
  type MetricReader,
} from '@opentelemetry/sdk-metrics';
import type { HostMetricGroup, HostMetrics, Peek } from '@mon/host';
import { MON_SOURCE_FAILED, MON_EXPORT_TIMEOUT } from '@mon/warnings';
import { asPeek, clusterRole, WORKER_VIEWS, workerHostGroups, type EarlyChildren } from './cluster/index.js';
import type { Config } from './config.js';
import { afterStartUp } from './after-start-up.js';
import { EventLoopDelayHistogram } from './event-loop-delay.js';
import { createReaders } from './exporters.js';
import type { HistogramAggregation } from './http-server-metrics.js';
import type { LazyMeterProvider } from './lazy-meter-provider.js';
import { buildResource } from './resource.js';
import type { Recorders } from './start.js';
import { debug, describe, warn } from './warn.js';

const NOTHING: CollectionResult = { resourceMetrics: { resource: undefined as never, scopeMetrics: [] }, errors: [] };

/** The built pipeline. */
export interface Pipeline {
  meterProvider: MeterProvider;
  readers: MetricReader[];
  /** Stops what this built (host metrics); the MeterProvider's own shutdown is separate. */
  stops: Array<() => void>;
}

/**
 * Builds the pipeline around the recorders that have counted since the preload, and binds the
 * global provider (`global`, registered at preload) to the SDK's. Throws on failure (start.ts warns).
 */
export async function buildPipeline(
  config: Readonly<Config>,
  { http, httpClient, db, rpcServer, rpcClient }: Recorders,
  global: LazyMeterProvider,
  earlyChildren: EarlyChildren | undefined,
): Promise<Pipeline> {
  const stops: Array<() => void> = [];
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
  // The event loop delay histogram, with native buckets: read at collections only (event-loop-delay.ts).
  const delay = config.groups.has('runtime') ? new EventLoopDelayHistogram() : undefined;
  let hostGroups = [...config.groups].filter((g): g is HostMetricGroup => g !== 'http' && g !== 'http-client' && g !== 'db');
  if (worker) hostGroups = workerHostGroups(hostGroups);
  // The container series: from a producer (half the cost of instruments: @mon/host's producer
  // option), one per reader, bound to the host metrics once they start.
  const container = hostGroups.includes('container');
  const containerFor = (counters: AggregationTemporality): MetricProducer => {
    let inner: MetricProducer | undefined;
    return { collect: async (options) => (host ? (inner ??= host.producer(counters)).collect(options) : NOTHING) };
  };
  const collectedFor = (temporality: AggregationTemporality, histograms?: HistogramAggregation, counters = temporality): MetricProducer[] => [
    ...(delay ? [delay.producer(temporality, histograms)] : []),
    ...(container ? [containerFor(counters)] : []),
  ];
  const readers = await createReaders(config, producersFor, resource, peek, earlyChildren, collectedFor);
  // No Prometheus reader took them (it failed, or the exporters are push only): nobody will.
  earlyChildren?.take();
  const meterProvider = new MeterProvider({
    resource,
    readers,
    // System-wide metrics come from the cluster primary only (cluster/worker-instruments.ts).
    ...(worker ? { views: WORKER_VIEWS } : {}),
  });
  global.bind(meterProvider);

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
          producer: true,
          ...(config.diskPaths ? { diskPaths: config.diskPaths } : {}),
          ...(delay ? { delayHistogram: delay } : {}),
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
  }
  debug('pipeline built: exporters=%s groups=%s', config.exporters.join(',') || 'none', [...config.groups].join(','));
  return { meterProvider, readers, stops };
}
