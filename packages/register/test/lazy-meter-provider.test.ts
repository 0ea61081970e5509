// The global MeterProvider before the SDK is built (lazy-meter-provider.ts): calls kept and replayed
// into the SDK's instruments at bind(), or let go at drop() when the SDK could not be built.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Meter, MeterProvider } from '@opentelemetry/api';

const debug = vi.hoisted(() => vi.fn());
vi.mock('../src/warn.js', () => ({ debug, warn: vi.fn() }));
const { LazyMeterProvider } = await import('../src/lazy-meter-provider.js');

/** An SDK stand-in recording what reaches its instruments. */
function fakeSdk() {
  const calls: Array<[string, number, unknown]> = [];
  const callbacks: string[] = [];
  const meter = {
    createCounter: (name: string) => ({ add: (v: number, a?: unknown) => calls.push([name, v, a]) }),
    createHistogram: (name: string) => ({ record: (v: number, a?: unknown) => calls.push([name, v, a]) }),
    createObservableGauge: (name: string) => ({ addCallback: () => callbacks.push(name), removeCallback: () => {} }),
  } as unknown as Meter;
  const provider = { getMeter: () => meter } as unknown as MeterProvider;
  return { provider, calls, callbacks };
}

const TOO_MANY = /more than %d calls/;
afterEach(() => debug.mockClear());

describe('LazyMeterProvider', () => {
  it('asks for the SDK at the first meter, and replays what was recorded before bind()', () => {
    const onFirstMeter = vi.fn();
    const lazy = new LazyMeterProvider(onFirstMeter);
    const meter = lazy.getMeter('app');
    lazy.getMeter('other');
    expect(onFirstMeter).toHaveBeenCalledTimes(1);
    const attributes = { queue: 'mail' };
    meter.createCounter('jobs').add(2, attributes);
    attributes.queue = 'changed'; // the app reuses its object: the kept call has its own copy
    meter.createObservableGauge('depth').addCallback(() => {});
    const sdk = fakeSdk();
    lazy.bind(sdk.provider);
    expect(sdk.calls).toEqual([['jobs', 2, { queue: 'mail' }]]);
    expect(sdk.callbacks).toEqual(['depth']);
    // From then on, straight to the SDK.
    lazy.getMeter('late').createHistogram('wait').record(0.5);
    expect(sdk.calls.at(-1)).toEqual(['wait', 0.5, undefined]);
  });

  it('keeps at most 10 000 calls per instrument before the SDK is bound', () => {
    const lazy = new LazyMeterProvider(() => {});
    const counter = lazy.getMeter('app').createCounter('jobs');
    for (let i = 0; i <= 10_000; i++) counter.add(1);
    expect(debug.mock.calls.filter(([format]) => TOO_MANY.test(String(format)))).toHaveLength(1);
    const sdk = fakeSdk();
    lazy.bind(sdk.provider);
    expect(sdk.calls).toHaveLength(10_000);
  });

  it('after drop(), keeps nothing: not for the meters handed out before, nor for those asked for after', () => {
    const lazy = new LazyMeterProvider(() => {});
    const before = lazy.getMeter('app');
    const kept = before.createCounter('kept');
    kept.add(1);
    lazy.drop();
    // An app keeps its meter and makes instruments as it goes, and asks for meters later too: none
    // of them may fill up with calls no SDK will ever take.
    const instruments = [kept, before.createCounter('made-after'), lazy.getMeter('asked-after').createCounter('late')];
    for (const instrument of instruments) for (let i = 0; i <= 10_000; i++) instrument.add(1, { i });
    expect(debug.mock.calls.filter(([format]) => TOO_MANY.test(String(format)))).toEqual([]);
    // Observable instruments and batch callbacks are let go too, and nothing throws.
    const gauge = lazy.getMeter('asked-after').createObservableGauge('depth');
    gauge.addCallback(() => {});
    before.addBatchObservableCallback(() => {}, [gauge]);
    expect(lazy.asked).toBe(false);
  });
});
