// One reader per configured exporter. Exporter packages are imported only when chosen, so a
// Prometheus-only app never loads the OTLP stack (start-up time and RSS: test/bench). This file is
// part of the pipeline (pipeline.ts), loaded on first need with sdk-metrics.
import {
  AggregationTemporality,
  AggregationType,
  ConsoleMetricExporter,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type MetricProducer,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { Peek } from '@mon/host';
import { MON_EXPORTER_FAILED, MON_METRICS_PORT, MON_EXPORT_FAILED } from '@mon/warnings';
import { CarryOver, clusterPrimaryReader, clusterRole, clusterWorkerReader, readCarried, type EarlyChildren } from './cluster/index.js';
import type { Config, OtlpConfig } from './config.js';
import { afterStartUp } from './after-start-up.js';
import { markTelemetryAgent } from './http-client.js';
import { debug, describe, warn } from './warn.js';

/**
 * Producers (pre-aggregated HTTP metrics) for a reader of the given temporality; `exponential`
 * when the reader exports histograms as base-2 exponential ones; `counters`, the temporality it
 * takes for observable counters where that differs (OTLP's `lowmemory`: histograms as deltas,
 * observable counters as totals; default `temporality`).
 */
export type ProducersFor = (
  temporality: AggregationTemporality,
  histograms?: 'explicit' | 'exponential',
  counters?: AggregationTemporality,
) => MetricProducer[];

/**
 * The readers to give the process's MeterProvider; `resource` is the one it will have. `peek`
 * wraps the collections of `/metrics?peek=1`, which the live page polls. `earlyChildren`: the
 * children this process started before (cluster/early-children.ts). `collectedFor`: producers
 * read only when a reader collects, as the SDK's instruments are, never pushed or carried over
 * between scrapes (the event loop delay histogram, which changes at every sample; the container
 * series, read from cgroup files).
 */
export async function createReaders(
  config: Readonly<Config>,
  producersFor: ProducersFor,
  resource: Resource,
  peek: Peek = (collect) => collect(),
  earlyChildren?: EarlyChildren,
  collectedFor: ProducersFor = () => [],
): Promise<MetricReader[]> {
  const readers: MetricReader[] = [];
  for (const name of config.exporters) {
    try {
      if (name === 'prometheus') readers.push(await prometheusReader(config, producersFor, resource, peek, earlyChildren, collectedFor(AggregationTemporality.CUMULATIVE)));
      else readers.push(await pushReader(config, name, (t, h, c) => [...producersFor(t, h, c), ...collectedFor(t, h, c)]));
    } catch (error) {
      warn(MON_EXPORTER_FAILED, `the ${name} exporter could not start (${describe(error)}); the others carry on.`);
    }
  }
  return readers;
}

/**
 * A cluster worker binds no port: the primary serves /metrics for the whole cluster and asks it
 * over IPC (if no primary answers, the workers serve their own). Any other process may become a
 * primary, so its Prometheus reader always serves through the cluster producer, which hands on the
 * process's own metrics untouched until a worker appears (cluster/primary.ts).
 *
 * The reader returned here only collects; the endpoint that serves it (@mon/prometheus, node:http,
 * the live page) is loaded and bound after the app's start-up (after-start-up.ts).
 */
async function prometheusReader(
  config: Readonly<Config>,
  producersFor: ProducersFor,
  resource: Resource,
  peek: Peek,
  earlyChildren: EarlyChildren | undefined,
  collected: MetricProducer[],
): Promise<MetricReader> {
  const producers = producersFor(AggregationTemporality.CUMULATIVE);
  const { host, port, auth, ui } = config.prometheus;
  const serve = async (producer: MetricProducer, quietWhenBusy = false): Promise<MetricReader> => {
    const { PrometheusReader } = await import('@mon/prometheus');
    // The live page on GET / of the same server: same bind address, same credentials.
    // It polls /metrics?peek=1: window figures over the last few seconds, not the scrapers' minute.
    // Its history samples the reader that serves it, from when that reader exists.
    let served: InstanceType<typeof PrometheusReader> | undefined;
    const live = ui ? await import('@mon/live') : undefined;
    const history = live?.createLiveHistory({
      collect: async ({ peek }) => (await served!.collectTextChunks(undefined, { peek })).chunks,
      onError: (error) => debug('live: history sample failed: %s', describe(error)),
    });
    const fallback = live?.createLivePage({ metricsPath: '/metrics?peek=1', history });
    served = new PrometheusReader({
      // `localhost` may resolve to ::1 only; Prometheus and curl fall back to 127.0.0.1, so bind that.
      host: host === 'localhost' ? '127.0.0.1' : host,
      port,
      metricProducers: [producer],
      peek,
      ...(auth ? { auth } : {}),
      ...(fallback ? { fallback } : {}),
      warn,
      onServerError: (error) => {
        // Workers of a primary without mon race for the port; losing is expected and was said once.
        if (quietWhenBusy && error.code === 'EADDRINUSE') return;
        const fix =
          error.code === 'EADDRINUSE'
            ? `another process holds it; give this one its own port with OTEL_EXPORTER_PROMETHEUS_PORT`
            : `check OTEL_EXPORTER_PROMETHEUS_HOST and OTEL_EXPORTER_PROMETHEUS_PORT`;
        warn(MON_METRICS_PORT, `cannot serve /metrics on ${host}:${port} (${error.code ?? error.message}): ${fix}. The app runs on without it.`);
      },
    });
    // Only once the page can be served: no port, no page, nothing to keep history for.
    served.ready.then(() => history?.start(), () => {});
    debug('metrics endpoint starting on %s:%d', host, port);
    return served;
  };
  /** `serve`, once the app has started; never settles if shut down first or if it fails (warned). */
  const serveAfterStartUp = (producer: MetricProducer): Promise<MetricReader> =>
    new Promise((resolve) => afterStartUp('the metrics endpoint', 'endpoint', async () => resolve(await serve(producer))));
  // A pm2 instance serves like a primary: its own metrics (pm2's daemon forks its workers, not it).
  if (clusterRole(config.pm2) === 'worker') {
    return clusterWorkerReader(producers, process, {
      peek,
      collected,
      serveAlone: (producer) => {
        // Already long after start-up (the primary had seconds to answer): at once.
        serve(producer, true).then(
          (reader) => new MeterProvider({ resource, readers: [reader] }),
          (error: unknown) => warn(MON_EXPORTER_FAILED, `the prometheus exporter could not start (${describe(error)}).`),
        );
        return `${host}:${port}`;
      },
    });
  }
  // Under pm2 (carryOver set), an instance carries on from the totals of the one it replaces.
  const carry = config.pm2?.carryOver;
  if (carry === undefined) return clusterPrimaryReader([...producers, ...collected], resource, serveAfterStartUp, { earlyChildren });
  const carried = await readCarried(carry.file, carry.generation);
  return clusterPrimaryReader(
    [...producers, ...collected],
    resource,
    (cluster) => {
      const carryOver = new CarryOver(cluster, carried, { ...carry, producers });
      carryOver.start();
      return serveAfterStartUp(carryOver);
    },
    { earlyChildren },
  );
}

async function pushReader(config: Readonly<Config>, name: 'otlp' | 'console', producersFor: ProducersFor): Promise<MetricReader> {
  // The SDK requires timeout <= interval.
  const exportTimeoutMillis = Math.min(config.exportTimeoutMillis, config.exportIntervalMillis);
  const exporter =
    name === 'console'
      ? new ConsoleMetricExporter()
      : new WarnOnFailure(
          // The exporter's own deadline (it bounds its retries) must end before the reader's, or
          // the reader gives up first with a bare "timed out" and the real cause is never seen.
          await otlpExporter({ ...config.otlp, timeoutMillis: Math.min(config.otlp.timeoutMillis, exportTimeoutMillis) }),
          config.otlp.url,
        );
  const temporality = exporter.selectAggregationTemporality?.(InstrumentType.HISTOGRAM) ?? AggregationTemporality.CUMULATIVE;
  return new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: config.exportIntervalMillis,
    exportTimeoutMillis,
    metricProducers: producersFor(
      temporality,
      name === 'otlp' && config.otlp.histogramAggregation === 'base2_exponential_bucket_histogram' ? 'exponential' : 'explicit',
      // The container series' counters (@mon/host's producer): OTLP's `delta` takes them as deltas, `lowmemory` as totals.
      exporter.selectAggregationTemporality?.(InstrumentType.OBSERVABLE_COUNTER) ?? AggregationTemporality.CUMULATIVE,
    ),
  });
}

async function otlpExporter(otlp: OtlpConfig): Promise<PushMetricExporter> {
  const { AggregationTemporalityPreference } = await import('@opentelemetry/exporter-metrics-otlp-http');
  const temporalityPreference = {
    cumulative: AggregationTemporalityPreference.CUMULATIVE,
    delta: AggregationTemporalityPreference.DELTA,
    lowmemory: AggregationTemporalityPreference.LOWMEMORY,
  }[otlp.temporality];
  // Every option is passed explicitly, so config.ts stays the one reader of the environment.
  // The exporter has the option but does not read the variable (config.ts does): the app's own
  // histograms follow it here; mon's HTTP histograms follow it in their producer.
  const exponential = otlp.histogramAggregation === 'base2_exponential_bucket_histogram';
  const options = {
    // An agent of mon's own (the exporter's default settings), marked so that exports are never
    // counted as the app's outgoing calls (http-client.ts).
    httpAgentOptions: async (protocol: string) => {
      const { Agent } = protocol === 'https:' ? await import('node:https') : await import('node:http');
      return markTelemetryAgent(new Agent({ keepAlive: true }));
    },
    url: otlp.url,
    headers: otlp.headers,
    timeoutMillis: otlp.timeoutMillis,
    compression: otlp.compression as never,
    temporalityPreference,
    ...(exponential
      ? {
          aggregationPreference: (type: InstrumentType): AggregationOption =>
            type === InstrumentType.HISTOGRAM ? { type: AggregationType.EXPONENTIAL_HISTOGRAM } : { type: AggregationType.DEFAULT },
        }
      : {}),
  };
  if (otlp.protocol === 'http/json') {
    const { otlpJsonExporter } = await import('./otlp-json-exporter.js');
    return otlpJsonExporter(options);
  }
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
  return new OTLPMetricExporter(options);
}

/**
 * The SDK reports failed exports only to its diag logger, which is silent by default: a backend
 * that is down would go unnoticed. One warning per kind of failure (not one per export); the
 * exporter underneath already retries per the OTLP spec (backoff, Retry-After).
 */
class WarnOnFailure implements PushMetricExporter {
  private readonly seen = new Set<string>();
  private readonly target: string;

  constructor(
    private readonly inner: PushMetricExporter,
    url: string,
  ) {
    // Never print credentials that may sit in the URL.
    const parsed = new URL(url);
    this.target = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.report(result.error);
      done(result);
    });
  }

  private report(error: Error | undefined): void {
    const code = (error as { code?: unknown } | undefined)?.code;
    const kind = code !== undefined ? String(code) : (error?.name ?? 'unknown');
    if (this.seen.has(kind)) return;
    this.seen.add(kind);
    const status = typeof code === 'number' ? `HTTP ${code}` : kind;
    warn(
      MON_EXPORT_FAILED,
      `OTLP export to ${this.target} failed (${status}: ${error?.message ?? 'no detail'}); the app is unaffected and exports continue each interval. Check OTEL_EXPORTER_OTLP_ENDPOINT and the backend.`,
    );
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregation(type: InstrumentType): AggregationOption {
    return this.inner.selectAggregation?.(type) ?? { type: AggregationType.DEFAULT };
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE;
  }
}
