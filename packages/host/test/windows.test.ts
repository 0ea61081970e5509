import { createRequire } from 'node:module';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWindows, SLOT_MS, WINDOW_MS } from '../src/windows.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('windows', () => {
  it('read the long window in collections and one slot in a peek (a peek inside a peek is the same peek)', () => {
    const windows = createWindows();
    try {
      expect(windows.spanMs).toBe(WINDOW_MS);
      expect(windows.peek(() => windows.spanMs)).toBe(SLOT_MS);
      expect(windows.peek(() => windows.peek(() => windows.spanMs))).toBe(SLOT_MS);
      expect(windows.spanMs).toBe(WINDOW_MS);
    } finally {
      windows.stop();
    }
  });

  it('end the peek when its collect throws', () => {
    const windows = createWindows();
    expect(() =>
      windows.peek(() => {
        throw new Error('collect failed');
      }),
    ).toThrow('collect failed');
    expect(windows.spanMs).toBe(WINDOW_MS);
    windows.stop();
  });
});

describe('readings', () => {
  it('are taken at start and at every slot boundary, whoever collects; a window starts at the newest one at least its span old', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    try {
      const windows = createWindows({ windowMs: 1_000, slotMs: 100 });
      let value = 0;
      const readings = windows.readings(() => value++);
      const t0 = performance.now();
      expect(readings.base(t0, 1_000)).toEqual({ at: t0, value: 0 });
      vi.advanceTimersByTime(2_050);
      const now = performance.now();
      // 20 boundaries passed: readings 1..20 at t0 + 100 k; kept: the last 12.
      expect(readings.base(now, 1_000)).toEqual({ at: t0 + 1_000, value: 10 });
      expect(readings.base(now, 100)).toEqual({ at: t0 + 1_900, value: 19 });
      // Reading the base changes nothing: the same answer again.
      expect(readings.base(now, 1_000)).toEqual({ at: t0 + 1_000, value: 10 });
      readings.stop();
      vi.advanceTimersByTime(500);
      expect(value).toBe(21);
      windows.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('skip a reading that throws, and have no base before the first good one', () => {
    const windows = createWindows();
    const readings = windows.readings((): number => {
      throw new Error('no /proc');
    });
    expect(readings.base(performance.now(), WINDOW_MS)).toBeUndefined();
    windows.stop();
  });
});

// The whole peek design rests on this: sdk-metrics runs the observable callbacks synchronously
// inside MetricReader.collect(), before its first await, so a flag set only for the duration of the
// call that starts collect() (windows.peek, @mon/register's cluster/peek.ts) is what the callbacks
// see. Were the SDK ever to defer them (a microtask, a timer), every peek would silently read the
// 60 s window, and the live page would lag by a minute: this fails first. The repo installs one sdk-metrics
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
    const spans: number[] = [];
    provider.getMeter('m').createObservableGauge('g').addCallback((result) => {
      spans.push(windows.spanMs);
      result.observe(1);
    });
    const peeked = windows.peek(() => reader.collect());
    expect(spans).toEqual([SLOT_MS]);
    await peeked;
    await reader.collect();
    expect(spans).toEqual([SLOT_MS, WINDOW_MS]);
    windows.stop();
    await provider.shutdown();
  });
});
