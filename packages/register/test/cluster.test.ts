import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  type CollectionResult,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type MetricProducer,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClusterMerge,
  ClusterPrimary,
  OnDemandReader,
  PRIMARY,
  WORKER_ATTRIBUTE,
  asPeek,
  clusterWorkerReader,
  decodeScopes,
  encodeScopes,
  mergeRule,
} from '../src/cluster.js';

const T0: HrTime = [1000, 0];
const T1: HrTime = [2000, 0];
const NOW: HrTime = [3000, 0];
const BOUNDARIES = [0.1, 1];
const descriptor = (name: string, unit = '') => ({ name, description: name, unit, valueType: 1 });

function counter(name: string, points: Array<[Attributes, number]>, startTime = T0): MetricData {
  return {
    descriptor: descriptor(name),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points.map(([attributes, value]) => ({ startTime, endTime: T1, attributes, value })),
  };
}

function upDown(name: string, points: Array<[Attributes, number]>): MetricData {
  return { ...(counter(name, points) as MetricData & { isMonotonic: boolean }), isMonotonic: false } as MetricData;
}

function gauge(name: string, value: number, attributes: Attributes = {}): MetricData {
  return {
    descriptor: descriptor(name),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [{ startTime: T0, endTime: T1, attributes, value }],
  };
}

function histogram(name: string, counts: number[], sum: number, min: number, max: number, attributes: Attributes = {}, boundaries = BOUNDARIES): MetricData {
  const count = counts.reduce((a, b) => a + b, 0);
  return {
    descriptor: descriptor(name, 's'),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ startTime: T0, endTime: T1, attributes, value: { buckets: { boundaries, counts }, count, sum, min, max } }],
  };
}

const scope = (...metrics: MetricData[]): ScopeMetrics[] => [{ scope: { name: 'test' }, metrics }];

function find(scopes: ScopeMetrics[], name: string): MetricData | undefined {
  return scopes.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

function values(scopes: ScopeMetrics[], name: string): Array<[Attributes, unknown]> {
  return (find(scopes, name)?.dataPoints ?? []).map((p) => [p.attributes, p.value]);
}

describe('mergeRule', () => {
  it('sums totals and levels, keeps gauges and process-level up-down counters per process', () => {
    expect(mergeRule(counter('http.server.requests', []))).toBe('total');
    expect(mergeRule(counter('process.cpu.time', []))).toBe('total');
    expect(mergeRule(histogram('http.server.request.duration', [0, 0, 0], 0, 0, 0))).toBe('total');
    expect(mergeRule(histogram('v8js.gc.duration', [0, 0, 0], 0, 0, 0))).toBe('total');
    expect(mergeRule(upDown('http.server.active_requests', []))).toBe('level');
    expect(mergeRule(upDown('shop.queue.length', []))).toBe('level');
    expect(mergeRule(upDown('process.memory.usage', []))).toBe('per-process');
    expect(mergeRule(upDown('v8js.memory.heap.used', []))).toBe('per-process');
    expect(mergeRule(gauge('nodejs.eventloop.delay.p99', 0))).toBe('per-process');
    expect(mergeRule(gauge('shop.temperature', 0))).toBe('per-process');
    expect(mergeRule(upDown('system.memory.usage', []))).toBe('machine');
    expect(mergeRule(gauge('system.cpu.utilization', 0))).toBe('machine');
  });
});

describe('encodeScopes / decodeScopes', () => {
  it('round-trips sums, gauges and histograms, non-finite numbers included', () => {
    const scopes = scope(
      counter('c', [[{ a: 'x', n: 1, list: ['p', 'q'] }, 5]]),
      gauge('g', NaN),
      gauge('h', -Infinity),
      histogram('d', [1, 2, 0], 1.5, 0.05, Infinity),
    );
    const decoded = decodeScopes(encodeScopes(scopes), NOW);
    const expected = scopes.map((s) => ({ ...s, metrics: s.metrics.map((m) => ({ ...m, dataPoints: m.dataPoints.map((p) => ({ ...p, endTime: NOW })) })) }));
    expect(decoded).toEqual(expected);
  });

  it('leaves end times out, so an unchanged snapshot encodes to the same string', () => {
    const later = counter('c', [[{}, 5]]);
    (later.dataPoints[0] as { endTime: HrTime }).endTime = NOW;
    expect(encodeScopes(scope(counter('c', [[{}, 5]])))).toBe(encodeScopes(scope(later)));
  });

  it('leaves out metrics without points and exponential histograms', () => {
    const exponential = { ...gauge('e', 1), dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM } as unknown as MetricData;
    expect(JSON.parse(encodeScopes(scope(counter('empty', []), exponential)))).toEqual([]);
  });
});

describe('ClusterMerge', () => {
  it('sums counters with equal attributes whatever their order, and keeps other sets apart', () => {
    const merge = new ClusterMerge();
    const out = merge.merge(
      [
        { label: PRIMARY, scopes: [] },
        { label: '0', scopes: scope(counter('requests', [[{ method: 'GET', status: 200 }, 3], [{ method: 'POST', status: 200 }, 1]])) },
        { label: '1', scopes: scope(counter('requests', [[{ status: 200, method: 'GET' }, 4]])) },
      ],
      NOW,
    );
    expect(values(out, 'requests')).toEqual([
      [{ method: 'GET', status: 200 }, 7],
      [{ method: 'POST', status: 200 }, 1],
    ]);
    expect(find(out, 'requests')!.dataPoints.every((p) => p.endTime === NOW)).toBe(true);
  });

  it('sums histograms bucket by bucket, with the lowest min and highest max', () => {
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: scope(histogram('duration', [1, 0, 1], 2.05, 0.05, 2)) },
        { label: '1', scopes: scope(histogram('duration', [0, 3, 0], 0.9, 0.2, 0.4)) },
      ],
      NOW,
    );
    const h = find(out, 'duration')!.dataPoints[0]!.value as Histogram;
    expect(h.buckets).toEqual({ boundaries: BOUNDARIES, counts: [1, 3, 1] });
    expect([h.count, h.sum, h.min, h.max]).toEqual([5, 2.05 + 0.9, 0.05, 2]);
  });

  it('carries exponential buckets through IPC and sums them at the coarser scale', () => {
    const withExponential = (counts: number[], sum: number, scale: number, offset: number, bucketCounts: number[]): MetricData => {
      const metric = histogram('duration', counts, sum, 0.05, 2);
      const value = metric.dataPoints[0]!.value as Histogram & { exponential?: ExponentialHistogram };
      value.exponential = {
        count: value.count,
        sum,
        min: 0.05,
        max: 2,
        scale,
        zeroCount: 0,
        positive: { offset, bucketCounts },
        negative: { offset: 0, bucketCounts: [] },
      };
      return metric;
    };
    const a = scope(withExponential([1, 0, 1], 2.05, 3, -4, [1, 0, 0, 1]));
    const b = scope(withExponential([0, 3, 0], 0.9, 2, -1, [3]));
    const decoded = decodeScopes(encodeScopes(a), NOW);
    expect((decoded[0]!.metrics[0]!.dataPoints[0]!.value as { exponential: ExponentialHistogram }).exponential).toEqual(
      (a[0]!.metrics[0]!.dataPoints[0]!.value as { exponential: ExponentialHistogram }).exponential,
    );
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: decoded },
        { label: '1', scopes: decodeScopes(encodeScopes(b), NOW) },
      ],
      NOW,
    );
    const { exponential } = find(out, 'duration')!.dataPoints[0]!.value as { exponential: ExponentialHistogram };
    // Scale 3 buckets -4 and -1 are scale 2 buckets -2 and -1; the other process adds 3 to -1.
    expect(exponential).toMatchObject({ count: 5, scale: 2, zeroCount: 0, positive: { offset: -2, bucketCounts: [1, 4] } });
  });

  it('keeps the first buckets when two processes disagree on the boundaries', () => {
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: scope(histogram('duration', [1, 0, 0], 0.05, 0.05, 0.05)) },
        { label: '1', scopes: scope(histogram('duration', [0, 0, 0, 9], 90, 10, 10, {}, [0.1, 1, 5])) },
      ],
      NOW,
    );
    expect((find(out, 'duration')!.dataPoints[0]!.value as Histogram).count).toBe(1);
  });

  it('labels gauges and process-level up-down counters per process, and sums levels', () => {
    const out = new ClusterMerge().merge(
      [
        { label: PRIMARY, scopes: scope(upDown('process.memory.usage', [[{}, 100]]), gauge('nodejs.eventloop.delay.p99', 0.001)) },
        { label: '0', scopes: scope(upDown('process.memory.usage', [[{}, 200]]), upDown('http.server.active_requests', [[{ method: 'GET' }, 2]])) },
        { label: '1', scopes: scope(upDown('process.memory.usage', [[{}, 300]]), upDown('http.server.active_requests', [[{ method: 'GET' }, 1]])) },
      ],
      NOW,
    );
    expect(values(out, 'process.memory.usage')).toEqual([
      [{ [WORKER_ATTRIBUTE]: PRIMARY }, 100],
      [{ [WORKER_ATTRIBUTE]: '0' }, 200],
      [{ [WORKER_ATTRIBUTE]: '1' }, 300],
    ]);
    expect(values(out, 'nodejs.eventloop.delay.p99')).toEqual([[{ [WORKER_ATTRIBUTE]: PRIMARY }, 0.001]]);
    expect(values(out, 'http.server.active_requests')).toEqual([[{ method: 'GET' }, 3]]);
  });

  it('takes system.* from the first contribution only, unlabelled', () => {
    const out = new ClusterMerge().merge(
      [
        { label: PRIMARY, scopes: scope(upDown('system.memory.usage', [[{ state: 'used' }, 1000]])) },
        { label: '0', scopes: scope(upDown('system.memory.usage', [[{ state: 'used' }, 1000]])) },
      ],
      NOW,
    );
    expect(values(out, 'system.memory.usage')).toEqual([[{ state: 'used' }, 1000]]);
  });

  it('starts a summed series at the earliest start time', () => {
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: scope(counter('c', [[{}, 1]], T1)) },
        { label: '1', scopes: scope(counter('c', [[{}, 1]], T0)) },
      ],
      NOW,
    );
    expect(find(out, 'c')!.dataPoints[0]!.startTime).toEqual(T0);
  });

  it('never modifies its inputs', () => {
    const inputs = [
      { label: '0', scopes: scope(counter('c', [[{}, 1]]), histogram('d', [1, 0, 0], 0.05, 0.05, 0.05), gauge('g', 1)) },
      { label: '1', scopes: scope(counter('c', [[{}, 2]]), histogram('d', [0, 1, 0], 0.5, 0.5, 0.5), gauge('g', 2)) },
    ];
    const before = JSON.stringify(inputs);
    const merge = new ClusterMerge();
    merge.merge(inputs, NOW);
    merge.retire(inputs[0]!.scopes);
    merge.merge(inputs, NOW);
    expect(JSON.stringify(inputs)).toBe(before);
  });

  it('keeps the totals of a worker that exited, so counters never go backwards', () => {
    const merge = new ClusterMerge();
    const total = (contributions: Array<{ label: string; scopes: ScopeMetrics[] }>) => {
      const out = merge.merge(contributions, NOW);
      return {
        requests: values(out, 'requests')[0]?.[1],
        duration: (find(out, 'duration')?.dataPoints[0]?.value as Histogram | undefined)?.count,
        active: values(out, 'active'),
        rss: values(out, 'process.memory.usage'),
      };
    };
    const worker = (requests: number, active: number, rss: number) =>
      scope(counter('requests', [[{}, requests]]), histogram('duration', [requests, 0, 0], 0, 0, 0), upDown('active', [[{}, active]]), upDown('process.memory.usage', [[{}, rss]]));

    expect(total([{ label: '0', scopes: worker(5, 1, 10) }, { label: '1', scopes: worker(7, 0, 20) }])).toEqual({
      requests: 12,
      duration: 12,
      active: [[{}, 1]],
      rss: [[{ [WORKER_ATTRIBUTE]: '0' }, 10], [{ [WORKER_ATTRIBUTE]: '1' }, 20]],
    });
    // Worker 0 dies; its replacement takes slot 0 and starts from zero.
    merge.retire(worker(5, 1, 10));
    expect(total([{ label: '1', scopes: worker(7, 0, 20) }])).toEqual({ requests: 12, duration: 12, active: [[{}, 0]], rss: [[{ [WORKER_ATTRIBUTE]: '1' }, 20]] });
    expect(total([{ label: '0', scopes: worker(2, 0, 11) }, { label: '1', scopes: worker(7, 0, 20) }])).toEqual({
      requests: 14,
      duration: 14,
      active: [[{}, 0]],
      rss: [[{ [WORKER_ATTRIBUTE]: '0' }, 11], [{ [WORKER_ATTRIBUTE]: '1' }, 20]],
    });
    // With no live process at all, the retired totals still show.
    expect(total([]).requests).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------
// The primary and a worker over a fake IPC channel: each side emits what the other sends, as
// Node does ('internalMessage' for NODE_* cmds, 'message' for the rest), after a JSON round trip.

class Channel extends EventEmitter {
  connected = true;
  pid = 4242;
  peer!: Channel;
  /** A hung worker (its event loop blocked): nothing goes in or out. */
  hung = false;

  send(message: unknown, _handle?: unknown, _options?: unknown, callback?: (error: Error | null) => void): boolean {
    const copy = JSON.parse(JSON.stringify(message)) as { cmd?: unknown };
    const internal = typeof copy.cmd === 'string' && copy.cmd.startsWith('NODE_');
    setImmediate(() => {
      if (!this.hung && !this.peer.hung) this.peer.emit(internal ? 'internalMessage' : 'message', copy);
    });
    callback?.(null);
    return true;
  }

  /** The worker process ends: the primary's side sees 'exit', then the channel closes. */
  die(): void {
    this.emit('exit', null, 'SIGKILL');
    this.connected = false;
    this.peer.connected = false;
    this.emit('disconnect');
  }
}

function channelPair(): { child: Channel; process: Channel } {
  const child = new Channel();
  const process = new Channel();
  child.peer = process;
  process.peer = child;
  return { child, process };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

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
  const memory = provider.getMeter('sdk').createObservableUpDownCounter('process.memory.usage');
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

function primaryWith(timeoutMillis = 200): { primary: ClusterPrimary; self: Side } {
  let primary!: ClusterPrimary;
  const self = side((producers) => {
    const reader = new OnDemandReader({ metricProducers: producers });
    primary = new ClusterPrimary(reader, { timeoutMillis });
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
    await tick(10); // hello, welcome
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
    await tick(10);
    c.worker.requests(1);
    expect(await totals(primary)).toEqual({
      requests: 8,
      jobs: 8,
      memory: [[{ [WORKER_ATTRIBUTE]: PRIMARY }, 123], [{ [WORKER_ATTRIBUTE]: '0' }, 123], [{ [WORKER_ATTRIBUTE]: '1' }, 123]],
    });
  });

  it('asks workers for a peek when it peeks, and never answers a scrape with a peek (or back)', async () => {
    const { primary } = primaryWith();
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
    await tick(10);
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
    const { primary } = primaryWith(150);
    const { worker, channel } = workerOn(primary);
    await tick(10);
    worker.requests(5);
    expect((await totals(primary)).requests).toBe(5);
    channel.process.hung = true;
    worker.requests(5);
    let started = performance.now();
    expect((await totals(primary)).requests).toBe(5);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(400);
    // Still stuck: the next scrapes do not wait for it again.
    started = performance.now();
    expect((await totals(primary)).requests).toBe(5);
    expect(performance.now() - started).toBeLessThan(50);
    // Free again: it answers the request it is sent, and is waited for from then on.
    channel.process.hung = false;
    await totals(primary);
    await tick(10);
    expect((await totals(primary)).requests).toBe(10);
  });

  it('gets pushed pre-aggregated metrics between scrapes, so a crash loses little', async () => {
    const { primary } = primaryWith();
    const { worker, channel } = workerOn(primary, { pushIntervalMillis: 20 });
    await tick(10);
    worker.requests(6);
    await tick(60);
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
    await tick(10);
    const { errors } = await primary.collect();
    expect(errors.map((e) => `${(e as Error).name}: ${(e as Error).message}`)).toContain('TypeError: boom');
  });

  it('keeps its traffic off the app\'s own message handlers and ignores messages that are not its own', async () => {
    const { primary } = primaryWith();
    const { worker, channel } = workerOn(primary);
    const seen: unknown[] = [];
    channel.child.on('message', (m) => seen.push(m));
    channel.process.on('message', (m) => seen.push(m));
    await tick(10);
    channel.child.emit('internalMessage', { cmd: 'NODE_CLUSTER', act: 'online' });
    channel.child.emit('internalMessage', { cmd: 'NODE_MON', type: 'metrics' });
    channel.child.emit('internalMessage', { cmd: 'NODE_MON', type: 'from-the-future' });
    channel.child.emit('internalMessage', null);
    channel.process.emit('internalMessage', { cmd: 'NODE_MON', type: 'collect' });
    channel.child.send({ app: 'hello' });
    worker.requests(1);
    await tick(10);
    expect((await totals(primary)).requests).toBe(1);
    expect(seen).toEqual([{ app: 'hello' }]);
  });
});
