// Shared by the tests: a real MeterProvider with its own reader per test (no global state), and
// lookups into what one collection produced.
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type AggregationTemporalitySelector,
  type DataPoint,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { startHostMetrics, type HostMetrics } from '../src/index.js';

class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface Collected {
  metrics: Map<string, MetricData>;
  errors: unknown[];
  /** The scope name each metric came in. */
  scopes: Map<string, string>;
}

export interface Harness {
  host: HostMetrics;
  provider: MeterProvider;
  collect(): Promise<Collected>;
  /** A collection made through host.peek, as the live page's polls are (the short window). */
  peek(): Promise<Collected>;
  /** Stops host metrics and shuts the provider down. */
  close(): Promise<void>;
}

/**
 * `delta`: a reader with delta temporality, to which the SDK reports only what each collection
 * observed; `temporality`, a reader that chooses by instrument kind. With the `producer` option the
 * reader takes host.producer() (bound late: the reader exists before startHostMetrics, as in
 * @mon/register), with the temporality the reader takes for observable counters.
 */
export function start(
  options: Parameters<typeof startHostMetrics>[1] = {},
  { delta = false, temporality }: { delta?: boolean; temporality?: AggregationTemporalitySelector } = {},
): Harness {
  const selector = temporality ?? (delta ? () => AggregationTemporality.DELTA : undefined);
  let host: HostMetrics | undefined;
  let producer: MetricProducer | undefined;
  const late: MetricProducer = {
    collect: (o) => (producer ??= host!.producer(selector?.(InstrumentType.OBSERVABLE_COUNTER))).collect(o),
  };
  const reader = new TestReader({
    ...(selector ? { aggregationTemporalitySelector: selector } : {}),
    ...(options.producer ? { metricProducers: [late] } : {}),
  });
  const provider = new MeterProvider({ readers: [reader] });
  const started = startHostMetrics(provider, options);
  host = started;
  return {
    host: started,
    provider,
    collect: () => collected(reader.collect()),
    peek: () => collected(started.peek(() => reader.collect())),
    async close() {
      started.stop();
      await provider.shutdown();
    },
  };
}

async function collected(collection: ReturnType<MetricReader['collect']>): Promise<Collected> {
  const { resourceMetrics, errors } = await collection;
  const metrics = new Map<string, MetricData>();
  const scopes = new Map<string, string>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) {
      if (metrics.has(m.descriptor.name)) throw new Error(`${m.descriptor.name} collected twice`);
      metrics.set(m.descriptor.name, m);
      scopes.set(m.descriptor.name, scope.scope.name);
    }
  }
  return { metrics, errors, scopes };
}

export function points(c: Collected, name: string): DataPoint<unknown>[] {
  return (c.metrics.get(name)?.dataPoints ?? []) as DataPoint<unknown>[];
}

/** The value of the one point of `name` whose attributes include `match`; throws if none. */
export function value(c: Collected, name: string, match: Attributes = {}): number {
  const found = points(c, name).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  if (found.length !== 1) throw new Error(`${name} ${JSON.stringify(match)}: ${found.length} points`);
  return found[0]!.value as number;
}

/** Keeps the event loop busy (and one CPU) for `ms`. */
export function burn(ms: number): void {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  if (x < 0) throw new Error('unreachable');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
