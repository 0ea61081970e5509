import { afterEach, describe, expect, it } from 'vitest';
import { burn, sleep, start, value, type Harness, type Collected } from './support.js';

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
    // Reset after each collection: the block belongs to the previous interval only.
    expect(delay(idle, 'max')).toBeLessThan(0.05);
    expect(delay(idle, 'min')).toBeGreaterThanOrEqual(0);
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
    expect(delay(c, 'p50')).toBeLessThan(0.05);
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
    expect(delay(c, 'max')).toBeLessThan(0.1);
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
    expect(value(idle, 'nodejs.eventloop.utilization')).toBeGreaterThanOrEqual(0);
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
    expect(value(busyPeek, 'nodejs.eventloop.utilization')).toBeGreaterThan(0.5);
    await sleep(300); // idle
    const idlePeek = await h.peek();
    // Since the previous peek: the block is behind it.
    expect(delay(idlePeek, 'max')).toBeLessThan(0.05);
    expect(value(idlePeek, 'nodejs.eventloop.utilization')).toBeLessThan(0.3);
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
    expect(delay(await h.collect(), 'max')).toBeLessThan(0.05);
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
