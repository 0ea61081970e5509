// How a worker spaces its pushes (worker.ts nextPushInterval): within a share of a core whatever they cost.
import { describe, expect, it } from 'vitest';
import { nextPushInterval, PUSH_MAX_INTERVAL_MS, PUSH_MIN_INTERVAL_MS } from '../../src/cluster/worker.js';

describe('the push interval', () => {
  it('is as short as 0.2 % of a core allows while the metrics change, from 100 ms', () => {
    expect(nextPushInterval(PUSH_MIN_INTERVAL_MS, true, 0.05)).toBe(PUSH_MIN_INTERVAL_MS);
    expect(nextPushInterval(PUSH_MIN_INTERVAL_MS, true, 1)).toBe(500);
    expect(nextPushInterval(PUSH_MAX_INTERVAL_MS, true, 2)).toBe(PUSH_MAX_INTERVAL_MS);
  });

  it('backs off to 1 s while they do not change', () => {
    expect(nextPushInterval(PUSH_MIN_INTERVAL_MS, false, 0.05)).toBe(200);
    expect(nextPushInterval(800, false, 0.05)).toBe(PUSH_MAX_INTERVAL_MS);
    expect(nextPushInterval(PUSH_MAX_INTERVAL_MS, false, 0.05)).toBe(PUSH_MAX_INTERVAL_MS);
  });

  it('goes past 1 s when a push costs more than 2 ms, changed or not: the share holds at any series count', () => {
    // 2 000 HTTP series: a push (or finding that nothing changed) costs 30-60 ms (test/bench/cluster-push.mjs).
    expect(nextPushInterval(PUSH_MIN_INTERVAL_MS, true, 50)).toBe(25_000);
    expect(nextPushInterval(25_000, false, 50)).toBe(25_000);
    expect(nextPushInterval(25_000, true, 1)).toBe(500);
  });
});
