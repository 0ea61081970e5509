import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLiveHistory } from '../src/history.js';

afterEach(() => {
  vi.useRealTimers();
});

/** An exposition whose request counter stands at `requests`. */
const exposition = (requests: number) =>
  [
    `http_server_requests_total{http_response_status_code="200"} ${requests}`,
    'process_memory_usage_bytes 1000',
    'v8js_memory_heap_used_bytes{v8js_heap_space_name="old_space"} 10',
    '',
  ].join('\n');

describe('createLiveHistory', () => {
  it('samples nothing before start, then one point per step, with rates between steps', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'] });
    let requests = 0;
    let collections = 0;
    const history = createLiveHistory({
      collect: async () => {
        collections++;
        return exposition(requests);
      },
      stepMs: 10_000,
      spanMs: 60_000,
    });
    history.watched(); // someone looks: the fine step
    await vi.advanceTimersByTimeAsync(30_000);
    expect(collections).toBe(0);

    history.start();
    history.start(); // idempotent: still one timer
    await vi.advanceTimersByTimeAsync(10_000);
    requests = 50;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(collections).toBe(2);
    const points = history.points();
    expect(points.map((p) => p.age)).toEqual([10_000, 0]);
    expect(points[0]!.requestRate).toBeUndefined(); // the first sample has nothing to compare with
    expect(points[1]!.requestRate).toBeCloseTo(5);
    expect(points[1]!.rss).toBe(1000);

    history.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(collections).toBe(2);
  });

  it('keeps at most the span, however long it runs', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const history = createLiveHistory({ collect: async () => exposition(Date.now() / 1000), stepMs: 1_000, spanMs: 10_000 });
    history.start();
    for (let i = 0; i < 100; i++) {
      history.watched();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(history.capacity).toBe(11);
    const points = history.points();
    expect(points.length).toBeLessThanOrEqual(11);
    expect(points.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...points.map((p) => p.age))).toBeLessThanOrEqual(10_000);
    history.stop();
  });

  it('samples every minute with ordinary collections while nobody watches, every step with peeks for a span after someone did', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const collections: Array<{ at: number; peek: boolean }> = [];
    const history = createLiveHistory({
      collect: async ({ peek }) => {
        collections.push({ at: Date.now(), peek });
        return exposition(collections.length);
      },
    });
    history.start();
    await vi.advanceTimersByTimeAsync(180_000);
    // Unwatched: one a minute, ordinary collections (their window figures cover the minute).
    expect(collections).toEqual([60_000, 120_000, 180_000].map((at) => ({ at, peek: false })));
    collections.length = 0;
    await vi.advanceTimersByTimeAsync(5_000);
    history.watched(); // the page opens, mid-wait: the fine step starts now
    await vi.advanceTimersByTimeAsync(30_000);
    expect(collections).toEqual([195_000, 205_000, 215_000].map((at) => ({ at, peek: true })));
    // A span (15 min) after the last look, back to one a minute.
    collections.length = 0;
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    collections.length = 0;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(collections.length).toBeLessThanOrEqual(2);
    expect(collections.every((c) => !c.peek)).toBe(true);
    history.stop();
  });

  it('skips a failed sample, says why, and does not pile up behind a slow one', async () => {
    const errors: unknown[] = [];
    let release: (() => void) | undefined;
    let calls = 0;
    const history = createLiveHistory({
      collect: () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('collect failed'));
        return new Promise((resolve) => (release = () => resolve(exposition(1))));
      },
      onError: (error) => errors.push(error),
    });
    await history.sample();
    expect(errors).toHaveLength(1);
    expect(history.points()).toEqual([]);
    const slow = history.sample();
    await history.sample(); // while the slow one runs: skipped, not queued
    expect(calls).toBe(2);
    release!();
    await slow;
    expect(history.points()).toHaveLength(1);
  });
});
