import { createRequire } from 'node:module';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COLLECTIONS, createBaselines, createWindows, PEEKS, PEEKS_EXPIRE_MS } from '../src/windows.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('interval windows', () => {
  it('tell peeks from collections, and a first peek from the next ones until peeks stop for a while', () => {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const windows = createWindows();
    const seen = () => ({ audience: windows.audience, first: windows.firstPeek });

    expect(seen()).toEqual({ audience: COLLECTIONS, first: false });
    expect(windows.peeksExpired()).toBe(true);
    expect(windows.peek(seen)).toEqual({ audience: PEEKS, first: true });
    expect(seen()).toEqual({ audience: COLLECTIONS, first: false });

    now += 2_000;
    expect(windows.peeksExpired()).toBe(false);
    expect(windows.peek(seen)).toEqual({ audience: PEEKS, first: false });
    // A peek inside a peek is the same peek.
    expect(windows.peek(() => windows.peek(seen))).toEqual({ audience: PEEKS, first: false });

    now += PEEKS_EXPIRE_MS + 1;
    expect(windows.peeksExpired()).toBe(true);
    expect(windows.peek(seen)).toEqual({ audience: PEEKS, first: true });
  });

  it('end the peek when its collect throws', () => {
    const windows = createWindows();
    expect(() =>
      windows.peek(() => {
        throw new Error('collect failed');
      }),
    ).toThrow('collect failed');
    expect(windows.audience).toBe(COLLECTIONS);
  });
});

describe('baselines', () => {
  it('move with their own audience only: a first peek starts from the collections\' and moves the peeks\'', () => {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const windows = createWindows();
    const baselines = createBaselines(windows, 'start');
    // What a collection measures from, then where it leaves its audience's baseline.
    const collect = (to: string) => {
      const from = baselines.before;
      baselines.set(to);
      return from;
    };

    expect(collect('scrape 1')).toBe('start');
    expect(windows.peek(() => collect('peek 1'))).toBe('scrape 1'); // first: the collections' interval as it stands
    expect(windows.peek(() => collect('peek 2'))).toBe('peek 1');
    expect(collect('scrape 2')).toBe('scrape 1'); // the peeks left it alone
    expect(windows.peek(() => collect('peek 3'))).toBe('peek 2');

    now += PEEKS_EXPIRE_MS + 1;
    expect(windows.peek(() => collect('peek 4'))).toBe('scrape 2'); // a first peek again
    expect(collect('scrape 3')).toBe('scrape 2');
  });

  it('have none until one is set when given no initial one', () => {
    const windows = createWindows();
    const baselines = createBaselines<number>(windows);
    expect(baselines.before).toBeUndefined();
    expect(windows.peek(() => baselines.before)).toBeUndefined();
    windows.peek(() => baselines.set(1));
    expect(baselines.before).toBeUndefined();
    baselines.set(2);
    expect(baselines.before).toBe(2);
  });
});

// The whole peek design rests on this: sdk-metrics runs the observable callbacks synchronously
// inside MetricReader.collect(), before its first await, so a flag set only for the duration of the
// call that starts collect() (windows.peek, @mon/register's cluster/peek.ts) is what the callbacks
// see. Were the SDK ever to defer them (a microtask, a timer), every peek would silently count as a
// scrape and cut Prometheus's intervals short: this fails first. The repo installs one sdk-metrics
// (the root's, a 2.x); the peer range also allows 3.x, which packaging.e2e installs but does not
// collect under a peek.
const SDK_VERSION: string = createRequire(import.meta.url)('@opentelemetry/sdk-metrics/package.json').version;

class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe(`sdk-metrics ${SDK_VERSION}`, () => {
  it('runs every observable callback synchronously inside collect(), before collect() returns its promise', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    let flag = false;
    const seen: Array<[string, boolean]> = [];
    // Two meters (host metrics have their own), a single and a batch callback.
    const gauge = provider.getMeter('a').createObservableGauge('a.gauge');
    gauge.addCallback((result) => {
      seen.push(['single', flag]);
      result.observe(1);
    });
    const meterB = provider.getMeter('b');
    const counter = meterB.createObservableCounter('b.counter');
    meterB.addBatchObservableCallback(
      (result) => {
        seen.push(['batch', flag]);
        result.observe(counter, 2);
      },
      [counter],
    );

    for (const options of [undefined, { timeoutMillis: 5_000 }]) {
      seen.length = 0;
      flag = true;
      // The timeout is what the readers pass (a timer raced against the collection).
      const collection = reader.collect(options);
      flag = false;
      // Not awaited yet: the callbacks have run, and saw the flag set.
      expect(seen.sort()).toEqual([
        ['batch', true],
        ['single', true],
      ]);
      const { resourceMetrics, errors } = await collection;
      expect(errors).toEqual([]);
      expect(seen).toHaveLength(2); // nothing ran again after the first await
      const names = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => m.descriptor.name));
      expect(names.sort()).toEqual(['a.gauge', 'b.counter']);
    }
    await provider.shutdown();
  });

  it('so a collection started inside windows.peek is seen by its callbacks as a peek', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const windows = createWindows();
    const audiences: number[] = [];
    provider.getMeter('m').createObservableGauge('g').addCallback((result) => {
      audiences.push(windows.audience);
      result.observe(1);
    });
    const peeked = windows.peek(() => reader.collect());
    expect(audiences).toEqual([PEEKS]);
    await peeked;
    await reader.collect();
    expect(audiences).toEqual([PEEKS, COLLECTIONS]);
    await provider.shutdown();
  });
});
