import v8 from 'node:v8';
import vm from 'node:vm';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { points, sleep, start, type Collected, type Harness } from './support.js';

// The real collector, exposed as with --expose-gc: the flag applies to contexts created after it.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function count(c: Collected, type: string): number {
  const p = points(c, 'v8js.gc.duration').find((x) => x.attributes['v8js.gc.type'] === type);
  return p ? (p.value as Histogram).count : 0;
}

describe('v8js.gc.duration', () => {
  it('counts forced major collections and allocation-driven minor ones', async () => {
    h = start({ groups: ['runtime'] });
    const before = await h.collect();
    for (let i = 0; i < 5; i++) gc();
    let keep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) keep = [{ i }, keep.length > 1000 ? [] : keep];
    await sleep(20); // PerformanceObserver delivers entries asynchronously
    const after = await h.collect();
    expect(count(after, 'major') - count(before, 'major')).toBeGreaterThanOrEqual(5);
    expect(count(after, 'minor')).toBeGreaterThan(count(before, 'minor'));
    const major = points(after, 'v8js.gc.duration').find((x) => x.attributes['v8js.gc.type'] === 'major')!.value as Histogram;
    expect(major.buckets.boundaries[0]).toBe(0.0005);
    expect(major.sum).toBeGreaterThan(0);
    expect(major.sum! / major.count).toBeLessThan(1); // seconds, not milliseconds
  });

  it('stops recording after stop()', async () => {
    h = start({ groups: ['runtime'] });
    gc();
    await sleep(20);
    const before = count(await h.collect(), 'major');
    h.host.stop();
    gc();
    await sleep(20);
    expect(count(await h.collect(), 'major')).toBe(before);
  });
});
