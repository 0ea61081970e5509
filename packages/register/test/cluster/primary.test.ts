// The primary and its workers together (primary.ts and worker.ts), over a fake IPC channel.
import type { ChildProcess } from 'node:child_process';
import { HOST_METER_NAME } from '@mon/host';
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, type CollectionResult, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { OnDemandReader } from '../../src/cluster/on-demand-reader.js';
import { asPeek } from '../../src/cluster/peek.js';
import { ClusterPrimary } from '../../src/cluster/primary.js';
import { clusterWorkerReader } from '../../src/cluster/worker.js';
import { PRIMARY, WORKER_ATTRIBUTE } from '../../src/cluster/merge.js';
import { encodeScopes } from '../../src/cluster/wire.js';
import { channelPair } from './fake-channel.js';
import { counter, scope, values } from './metric-data.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
/**
 * Lets the fake channel's messages (a setImmediate hop each) and the work they start run out.
 * Counted in hops, not milliseconds: a 10 ms timer could fire first on a loaded machine.
 */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

interface Side {
  provider: MeterProvider;
  requests: (n: number) => void;
}

function side(readerFor: (producers: MetricProducer[]) => OnDemandReader | ReturnType<typeof clusterWorkerReader>): Side {
  let produced = 0;
  const producer: MetricProducer = {
    collect: async () => ({
      resourceMetrics: { resource: undefined as never, scopeMetrics: scope(counter('http.server.requests', [[{ method: 'GET' }, produced]])).map((s) => ({ ...s, scope: { name: 'producer' } })) },
      errors: [],
    }),
  };
  const provider = new MeterProvider({ readers: [readerFor([producer])] });
  const gc = provider.getMeter('sdk').createCounter('app.jobs');
  const memory = provider.getMeter(HOST_METER_NAME).createObservableUpDownCounter('process.memory.usage');
  memory.addCallback((r) => r.observe(123));
  return {
    provider,
    requests: (n) => {
      produced += n;
      gc.add(n);
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function primaryWith(timeoutMillis = 200, exitGraceMillis?: number): { primary: ClusterPrimary; self: Side } {
  let primary!: ClusterPrimary;
  const self = side((producers) => {
    const reader = new OnDemandReader({ metricProducers: producers });
    primary = new ClusterPrimary(reader, { timeoutMillis, ...(exitGraceMillis === undefined ? {} : { exitGraceMillis }) });
    return reader;
  });
  cleanups.push(() => self.provider.shutdown());
  return { primary, self };
}

function workerOn(primary: ClusterPrimary, options: { pushIntervalMillis?: number } = {}): { worker: Side; channel: ReturnType<typeof channelPair> } {
  const channel = channelPair();
  primary.watch(channel.child as unknown as ChildProcess);
  const worker = side((producers) => clusterWorkerReader(producers, channel.process as unknown as NodeJS.Process, options) as OnDemandReader);
  cleanups.push(() => worker.provider.shutdown());
  return { worker, channel };
}

async function totals(primary: ClusterPrimary): Promise<{ requests: unknown; jobs: unknown; memory: Array<[Attributes, unknown]> }> {
  const { resourceMetrics } = await primary.collect();
  const scopes = resourceMetrics.scopeMetrics;
  return { requests: values(scopes, 'http.server.requests')[0]?.[1], jobs: values(scopes, 'app.jobs')[0]?.[1], memory: values(scopes, 'process.memory.usage') };
}

describe('ClusterPrimary with workers', () => {
  it('hands on its own collection untouched while no worker has joined', async () => {
    const { primary, self } = primaryWith();
    self.requests(2);
    const { resourceMetrics } = await primary.collect();
    expect(values(resourceMetrics.scopeMetrics, 'process.memory.usage')).toEqual([[{}, 123]]);
    expect(values(resourceMetrics.scopeMetrics, 'http.server.requests')).toEqual([[{ method: 'GET' }, 2]]);
  });

  it('sums the workers, labels per-process series with bounded slots, and survives a worker dying', async () => {
    const { primary } = primaryWith();
    const a = workerOn(primary);
    const b = workerOn(primary);
    await settle(); // hello, welcome
    expect(primary.workerCount).toBe(2);
    a.worker.requests(3);
    b.worker.requests(4);
    expect(await totals(primary)).toEqual({
      requests: 7,
      jobs: 7,
      memory: [[{ [WORKER_ATTRIBUTE]: PRIMARY }, 123], [{ [WORKER_ATTRIBUTE]: '0' }, 123], [{ [WORKER_ATTRIBUTE]: '1' }, 123]],
    });

    a.worker.requests(10); // never collected: lost with the worker
    a.channel.child.die();
    expect((await totals(primary)).requests).toBe(7);

    // The replacement takes the free slot 0, not slot 2.
    const c = workerOn(primary);
    await settle();
    c.worker.requests(1);
    expect(await totals(primary)).toEqual({
      requests: 8,
      jobs: 8,
      memory: [[{ [WORKER_ATTRIBUTE]: PRIMARY }, 123], [{ [WORKER_ATTRIBUTE]: '0' }, 123], [{ [WORKER_ATTRIBUTE]: '1' }, 123]],
    });
  });

  it('retires a worker on exit when its channel never disconnects, and a scrape waiting for it answers at once', async () => {
    const { primary } = primaryWith(5_000, 300);
    const a = workerOn(primary);
    const b = workerOn(primary);
    await settle();
    a.worker.requests(3);
    b.worker.requests(4);
    expect((await totals(primary)).requests).toBe(7);

    // A scrape asks both; worker a is SIGKILLed before it answers, and its 'disconnect' never comes.
    a.channel.process.hung = true;
    const collection = totals(primary);
    await settle();
    a.channel.child.die({ disconnect: false });
    const first = await Promise.race([collection, tick(2_000).then(() => 'still waiting')]);
    expect(first).toEqual({ requests: 7, jobs: 7, memory: [[{ [WORKER_ATTRIBUTE]: PRIMARY }, 123], [{ [WORKER_ATTRIBUTE]: '1' }, 123]] });
    expect(primary.workerCount).toBe(1);

    // What was still in the pipe behind its 'exit' counts (a push it sent before dying).
    const late = counter('http.server.requests', [[{ method: 'GET' }, 5]]);
    a.channel.child.emit('internalMessage', { cmd: 'NODE_MON', type: 'metrics', produced: encodeScopes([{ scope: { name: 'producer' }, metrics: [late] }]), producedSeq: 1_000 });
    expect((await totals(primary)).requests).toBe(9);

    // Its replacement takes slot 0 at once; once the grace is over its totals stay, final.
    const c = workerOn(primary);
    await settle();
    c.worker.requests(1);
    const expected = { requests: 10, jobs: 8, memory: [[{ [WORKER_ATTRIBUTE]: PRIMARY }, 123], [{ [WORKER_ATTRIBUTE]: '0' }, 123], [{ [WORKER_ATTRIBUTE]: '1' }, 123]] };
    expect(await totals(primary)).toEqual(expected);
    await tick(400);
    a.channel.child.emit('internalMessage', { cmd: 'NODE_MON', type: 'metrics', produced: encodeScopes([{ scope: { name: 'producer' }, metrics: [late] }]), producedSeq: 2_000 });
    expect(await totals(primary)).toEqual(expected);
  });

  it('asks workers for a peek when it peeks, and never answers a scrape with a peek (or back)', async () => {
    // A generous timeout: what is tested is which snapshot answers, not how long a late one is waited for.
    const { primary } = primaryWith(5_000);
    const channel = channelPair();
    primary.watch(channel.child as unknown as ChildProcess);
    // The worker's interval metrics, reduced to one gauge saying whether a peek collected it.
    let peeking = false;
    const reader = clusterWorkerReader([], channel.process as unknown as NodeJS.Process, {
      peek: (collect) => {
        peeking = true;
        try {
          return collect();
        } finally {
          peeking = false;
        }
      },
    });
    const worker = new MeterProvider({ readers: [reader] });
    cleanups.push(() => worker.shutdown());
    // Slow (a network filesystem's callback can be), so the second request arrives mid-collection.
    worker.getMeter('host').createObservableGauge('peeked').addCallback(async (r) => {
      r.observe(peeking ? 1 : 0);
      await tick(30);
    });
    await settle();
    const peeked = async (collection: Promise<CollectionResult>) =>
      values((await collection).resourceMetrics.scopeMetrics, 'peeked').find(([a]) => a[WORKER_ATTRIBUTE] === '0')?.[1];
    // Asked at once: the worker collects for the peek, then again for the scrape that came meanwhile.
    const [peek, scrape] = await Promise.all([peeked(asPeek(() => primary.collect())), peeked(primary.collect())]);
    expect(peek).toBe(1);
    expect(scrape).toBe(0);
    // And the other way round.
    const [scrape2, peek2] = await Promise.all([peeked(primary.collect()), peeked(asPeek(() => primary.collect()))]);
    expect(scrape2).toBe(0);
    expect(peek2).toBe(1);
  });

  it('waits at most the timeout for a hung worker, once, and uses its last values', async () => {
    // Bounds relative to the timeout, with room for a loaded machine on either side.
    const TIMEOUT = 300;
    const { primary } = primaryWith(TIMEOUT);
    const { worker, channel } = workerOn(primary);
    await settle();
    worker.requests(5);
    expect((await totals(primary)).requests).toBe(5);
    channel.process.hung = true;
    worker.requests(5);
    let started = performance.now();
    expect((await totals(primary)).requests).toBe(5);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(TIMEOUT - 10);
    expect(took).toBeLessThan(TIMEOUT + 1_000);
    // Still stuck: the next scrapes do not wait for it again.
    started = performance.now();
    expect((await totals(primary)).requests).toBe(5);
    expect(performance.now() - started).toBeLessThan(TIMEOUT - 10);
    // Free again: it answers the request it is sent, and is waited for from then on.
    channel.process.hung = false;
    await totals(primary);
    await settle();
    expect((await totals(primary)).requests).toBe(10);
  });

  it('gets pushed pre-aggregated metrics between scrapes, so a crash loses little', async () => {
    const { primary } = primaryWith();
    const { worker, channel } = workerOn(primary, { pushIntervalMillis: 20 });
    await settle();
    worker.requests(6);
    // The first push after the requests, however late a loaded machine makes it.
    await new Promise<void>((resolve) => {
      const onMessage = (message: { type?: string; ids?: unknown; produced?: unknown }) => {
        // A push (no collect ids) carrying the 6 requests (its `produced` is encodeScopes' JSON).
        if (message.type !== 'metrics' || message.ids !== undefined || !String(message.produced).includes('"value":6')) return;
        channel.child.off('internalMessage', onMessage);
        resolve();
      };
      channel.child.on('internalMessage', onMessage);
    });
    channel.child.die();
    // The pushed HTTP totals survived; the SDK counter had never been collected.
    expect(await totals(primary)).toMatchObject({ requests: 6, jobs: undefined });
  });

  it("reports a worker's failing callbacks as its own, for the Prometheus reader to warn about", async () => {
    const { primary } = primaryWith();
    const { worker } = workerOn(primary);
    worker.provider.getMeter('app').createObservableGauge('broken').addCallback(() => {
      throw new TypeError('boom');
    });
    await settle();
    const { errors } = await primary.collect();
    expect(errors.map((e) => `${(e as Error).name}: ${(e as Error).message}`)).toContain('TypeError: boom');
  });

  it('keeps its traffic off the app\'s own message handlers and ignores messages that are not its own', async () => {
    const { primary } = primaryWith();
    const { worker, channel } = workerOn(primary);
    const seen: unknown[] = [];
    channel.child.on('message', (m) => seen.push(m));
    channel.process.on('message', (m) => seen.push(m));
    await settle();
    channel.child.emit('internalMessage', { cmd: 'NODE_CLUSTER', act: 'online' });
    channel.child.emit('internalMessage', { cmd: 'NODE_MON', type: 'metrics' });
    channel.child.emit('internalMessage', { cmd: 'NODE_MON', type: 'from-the-future' });
    channel.child.emit('internalMessage', null);
    channel.process.emit('internalMessage', { cmd: 'NODE_MON', type: 'collect' });
    channel.child.send({ app: 'hello' });
    worker.requests(1);
    await settle();
    expect((await totals(primary)).requests).toBe(1);
    expect(seen).toEqual([{ app: 'hello' }]);
  });
});
