import { afterEach, describe, expect, it } from 'vitest';
import { burn, points, sleep, start, value, type Harness, type Collected } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const delay = (c: Collected, stat: string) => value(c, `nodejs.eventloop.delay.${stat}`);

describe('nodejs.eventloop.delay.*', () => {
  it('shows a 200 ms block in p99 and max, then forgets it at the next interval', async () => {
    h = start({ groups: ['runtime'] });
    await sleep(50);
    await h.collect();
    burn(200);
    await sleep(30); // let the sampling timer record the late tick
    const blocked = await h.collect();
    expect(delay(blocked, 'p99')).toBeGreaterThanOrEqual(0.1);
    expect(delay(blocked, 'max')).toBeGreaterThanOrEqual(0.15);
    expect(delay(blocked, 'max')).toBeLessThan(1);
    const order = ['min', 'p50', 'p90', 'p99', 'max'].map((s) => delay(blocked, s));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(delay(blocked, 'stddev')).toBeGreaterThan(0);

    await sleep(100);
    const idle = await h.collect();
    // Reset after each collection: the block belongs to the previous interval only. (Relative to
    // the block, not an absolute idle bound: a loaded machine delays an idle loop too.)
    expect(delay(idle, 'max')).toBeLessThan(delay(blocked, 'max') / 2);
  });
});

describe('nodejs.eventloop.delay.* (later in the interval)', () => {
  it('shows a block that starts well after the collection too', async () => {
    h = start({ groups: ['runtime'] });
    await h.collect();
    await sleep(50);
    burn(150);
    await sleep(30);
    const c = await h.collect();
    expect(delay(c, 'max')).toBeGreaterThanOrEqual(0.12);
    expect(delay(c, 'p99')).toBeGreaterThanOrEqual(0.1);
    // One late tick among the interval's: the median is the loop's usual lateness, not the block.
    expect(delay(c, 'p50')).toBeLessThan(delay(c, 'max') / 2);
  });
});

describe('nodejs.eventloop.delay.* (right after a collection)', () => {
  it('shows a block of 10-20 ms that starts as the collection ends', async () => {
    // The sampler's first tick after the reset is blind, and this block ends before its second:
    // only the probe armed at the reset sees it, about 16 - 10 ms late.
    h = start({ groups: ['runtime'] });
    await sleep(30);
    await h.collect();
    burn(16);
    await sleep(40);
    const c = await h.collect();
    expect(delay(c, 'max')).toBeGreaterThanOrEqual(0.004);
    // Seconds, not nanoseconds or a time since start: bounded by the whole test.
    expect(delay(c, 'max')).toBeLessThan(1);
  });
});

describe('nodejs.eventloop.delay.* (a collection before the sampler has ticked)', () => {
  const STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'];

  it('reports zeros right after start rather than no series', async () => {
    // CI caught a scrape that came within 10 ms of the host metrics starting: no delay series on
    // /metrics while the OTLP flush a moment later had them (e2e "side by side").
    h = start({ groups: ['runtime'] });
    const c = await h.collect();
    for (const stat of STATS) {
      expect(points(c, `nodejs.eventloop.delay.${stat}`), stat).toHaveLength(1);
      expect(delay(c, stat), stat).toBeGreaterThanOrEqual(0);
      expect(delay(c, stat), stat).toBeLessThan(1);
    }
  });

  it('repeats the last figures to a delta reader that collects again within one resolution', async () => {
    // With delta temporality the SDK reports only what this round observed: nothing observed,
    // no series for that export.
    h = start({ groups: ['runtime'] }, { delta: true });
    await sleep(50);
    burn(30);
    await sleep(20);
    const first = await h.collect();
    const second = await h.collect();
    for (const stat of STATS) expect(points(second, `nodejs.eventloop.delay.${stat}`), stat).toHaveLength(1);
    expect(delay(first, 'max')).toBeGreaterThanOrEqual(0.015);
    // The 30 ms block belongs to the first interval; the second has it only if it sampled nothing.
    expect(delay(second, 'max') === delay(first, 'max') || delay(second, 'max') < delay(first, 'max') / 2).toBe(true);
  });
});

describe('nodejs.eventloop.utilization', () => {
  it('is high over an interval spent blocked and low over one spent idle', async () => {
    h = start({ groups: ['runtime'] });
    await h.collect();
    burn(200);
    const busy = await h.collect();
    expect(value(busy, 'nodejs.eventloop.utilization')).toBeGreaterThan(0.8);
    expect(value(busy, 'nodejs.eventloop.utilization')).toBeLessThanOrEqual(1);
    await sleep(200);
    const idle = await h.collect();
    expect(value(idle, 'nodejs.eventloop.utilization')).toBeLessThan(0.5);
    expect(value(idle, 'nodejs.eventloop.utilization')).toBeLessThan(value(busy, 'nodejs.eventloop.utilization') / 2);
    const active = (c: Collected) => value(c, 'nodejs.eventloop.time', { 'nodejs.eventloop.state': 'active' });
    const idleTime = (c: Collected) => value(c, 'nodejs.eventloop.time', { 'nodejs.eventloop.state': 'idle' });
    expect(active(idle)).toBeGreaterThanOrEqual(active(busy));
    expect(idleTime(idle) - idleTime(busy)).toBeGreaterThan(0.1);
  });
});

describe('peeks (the live page polling beside a scraper)', () => {
  it('see the interval since the previous peek, and leave the collections\' interval whole', async () => {
    h = start({ groups: ['runtime', 'cpu'] });
    await sleep(30);
    await h.collect(); // a scrape: its interval starts here
    await h.peek(); // the first peek: a sampler of its own starts here
    burn(200); // busy: loop blocked, one CPU busy
    await sleep(30);
    const busyPeek = await h.peek();
    expect(delay(busyPeek, 'max')).toBeGreaterThanOrEqual(0.15);
    await sleep(300); // idle
    const idlePeek = await h.peek();
    // Since the previous peek: the block is behind it.
    expect(delay(idlePeek, 'max')).toBeLessThan(delay(busyPeek, 'max') / 2);
    expect(value(idlePeek, 'nodejs.eventloop.utilization')).toBeLessThan(0.3);
    // (200 ms busy of ~230: relative to the idle peek, as a loaded machine stretches the 30 ms.)
    expect(value(busyPeek, 'nodejs.eventloop.utilization')).toBeGreaterThan(2 * value(idlePeek, 'nodejs.eventloop.utilization'));
    // The scrape's interval was not cut by the peeks: it still holds the block.
    const scrape = await h.collect();
    expect(delay(scrape, 'max')).toBeGreaterThanOrEqual(0.15);
    const utilization = value(scrape, 'nodejs.eventloop.utilization');
    expect(utilization).toBeGreaterThan(0.25);
    expect(utilization).toBeLessThan(value(busyPeek, 'nodejs.eventloop.utilization'));
    const processCpu = (c: Collected) =>
      value(c, 'process.cpu.utilization', { 'cpu.mode': 'user' }) + value(c, 'process.cpu.utilization', { 'cpu.mode': 'system' });
    expect(processCpu(scrape)).toBeGreaterThan(processCpu(idlePeek));
    // And the next scrape starts from the previous one, not from a peek.
    await sleep(50);
    expect(delay(await h.collect(), 'max')).toBeLessThan(delay(scrape, 'max') / 2);
  });

  it('report the collections\' window as it stands at the first peek', async () => {
    h = start({ groups: ['runtime'] });
    await h.collect();
    burn(150);
    await sleep(30);
    expect(delay(await h.peek(), 'max')).toBeGreaterThanOrEqual(0.1);
    expect(delay(await h.collect(), 'max')).toBeGreaterThanOrEqual(0.1);
  });

  it('start, at the first peek, from the collections\' interval, not from the process start', async () => {
    h = start({ groups: ['runtime', 'cpu'] });
    burn(300);
    await h.collect();
    await sleep(300);
    // Idle since the collection: a first peek counted from the process start would see ~0.5.
    const first = await h.peek();
    expect(value(first, 'nodejs.eventloop.utilization')).toBeLessThan(0.3);
    const processCpu = value(first, 'process.cpu.utilization', { 'cpu.mode': 'user' });
    expect(processCpu).toBeLessThan(0.2);
  });
});
