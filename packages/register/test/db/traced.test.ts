import dc from 'node:diagnostics_channel';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { DbMetrics, OPERATION } from '../../src/db/db-metrics.js';
import { subscribeTraced, type TracedChannel } from '../../src/db/traced.js';

let stop: (() => void) | undefined;
let channelNumber = 0;
afterEach(() => stop?.());

/** A fresh channel name per test, subscribed like a driver's. */
function traced(spec: Partial<TracedChannel> = {}): { metrics: DbMetrics; channel: dc.TracingChannel<object, object> } {
  const metrics = new DbMetrics();
  const name = `mon-test:db:${channelNumber++}`;
  stop = subscribeTraced(metrics, { name, family: 'redis', kind: OPERATION, operation: () => 7, ...spec });
  return { metrics, channel: dc.tracingChannel(name) };
}

async function points(metrics: DbMetrics): Promise<Array<{ error: unknown; count: number; sum: number }>> {
  const { resourceMetrics } = await metrics.producer().collect();
  const metric = resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData | undefined;
  return (metric?.dataPoints ?? []).map((p) => ({ error: p.attributes['error.type'], count: p.value.count, sum: p.value.sum! }));
}

const context = (): object => ({ serverAddress: '127.0.0.1', serverPort: 6379 });
const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('subscribeTraced', () => {
  it('counts a resolved and a rejected promise once each, the rejection by its error', async () => {
    const { metrics, channel } = traced();
    await channel.tracePromise(async () => 'OK', context());
    await channel.tracePromise(async () => Promise.reject(new Error('WRONGTYPE Operation against a key')), context()).catch(() => {});
    expect((await points(metrics)).map((p) => [p.error, p.count])).toEqual([
      [undefined, 1],
      ['WRONGTYPE', 1],
    ]);
  });

  it("ends a callback call when the callback is called, not after the app's callback has run", async () => {
    const { metrics, channel } = traced();
    const started = performance.now();
    let answered = 0;
    await new Promise<void>((resolve) => {
      channel.traceCallback(
        (callback: (error: Error | null) => void) => setImmediate(() => callback(null)),
        0,
        context(),
        undefined,
        () => {
          answered = performance.now();
          busy(100);
          resolve();
        },
      );
    });
    const [point] = await points(metrics);
    expect(point!.count).toBe(1);
    // Timed up to the answer (microsecond rounding aside), none of the callback's 100 ms.
    expect(point!.sum).toBeLessThanOrEqual((answered - started) / 1000 + 1e-6);
  });

  it('counts a synchronous throw at `end`, and a callback called back synchronously once', async () => {
    const { metrics, channel } = traced();
    expect(() =>
      channel.tracePromise(() => {
        throw Object.assign(new Error('closed'), { code: 'E_CLOSED' });
      }, context()),
    ).toThrow('closed');
    channel.traceCallback((callback: (error: Error) => void) => callback(Object.assign(new Error('x'), { code: 'E_SYNC' })), 0, context(), undefined, () => {});
    expect((await points(metrics)).map((p) => [p.error, p.count])).toEqual([
      ['E_CLOSED', 1],
      ['E_SYNC', 1],
    ]);
  });

  it('leaves out the calls `skip` names, and shows `answered` only successful answers', async () => {
    const answers: unknown[] = [];
    const { metrics, channel } = traced({
      skip: (c: { skip?: boolean }) => c.skip === true,
      answered: (c: { result?: unknown }) => answers.push(c.result),
    });
    await channel.tracePromise(async () => 'skipped', { ...context(), skip: true });
    await channel.tracePromise(async () => 'counted', context());
    await channel.tracePromise(async () => Promise.reject(new Error('ERR no')), context()).catch(() => {});
    expect((await points(metrics)).map((p) => p.count)).toEqual([1, 1]);
    expect(answers).toEqual(['counted']);
  });

  it('ignores a context that is not an object rather than throwing into the app', async () => {
    const { metrics, channel } = traced();
    expect(() => channel.start.publish('not an object' as never)).not.toThrow();
    expect(() => channel.asyncStart.publish(undefined as never)).not.toThrow();
    expect(await points(metrics)).toEqual([]);
  });

  it('stops counting once unsubscribed', async () => {
    const { metrics, channel } = traced();
    stop!();
    stop = undefined;
    await channel.tracePromise(async () => 'OK', context());
    expect(await points(metrics)).toEqual([]);
  });
});
