import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { START_UP_GRACE_MS, afterStartUp, cancelAfterStartUp, startUpBegan } from '../src/after-start-up.js';

describe('afterStartUp', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    cancelAfterStartUp();
    vi.useRealTimers();
  });

  it('counts the grace from the preload when mon was loaded later, on first need', async () => {
    const ran: string[] = [];
    startUpBegan(Date.now() - 400);
    try {
      afterStartUp('the endpoint', 'endpoint', () => void ran.push('endpoint'));
      await vi.advanceTimersByTimeAsync(START_UP_GRACE_MS - 401);
      expect(ran).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(ran).toEqual(['endpoint']);
    } finally {
      startUpBegan(undefined);
    }
  });

  it('runs nothing before the grace, then every source, settled, before any endpoint', async () => {
    const order: string[] = [];
    let finishSource = (): void => {};
    afterStartUp('the endpoint', 'endpoint', () => void order.push('endpoint'));
    afterStartUp('slow source', 'sources', () => new Promise<void>((resolve) => (finishSource = () => (order.push('slow source'), resolve()))));
    afterStartUp('fast source', 'sources', () => void order.push('fast source'));
    await vi.advanceTimersByTimeAsync(START_UP_GRACE_MS - 1);
    expect(order).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    // The endpoint waits for the slow source, though it was queued first.
    expect(order).toEqual(['fast source']);
    finishSource();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['fast source', 'slow source', 'endpoint']);
  });

  it('a task that throws or rejects costs one warning naming it; the others still run', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const ran: string[] = [];
    afterStartUp('a broken source', 'sources', () => {
      throw new Error('boom');
    });
    afterStartUp('a rejecting source', 'sources', () => Promise.reject(new Error('nope')));
    afterStartUp('the endpoint', 'endpoint', () => void ran.push('endpoint'));
    await vi.advanceTimersByTimeAsync(START_UP_GRACE_MS);
    const lines = stderr.mock.calls.map(([line]) => String(line));
    stderr.mockRestore();
    expect(ran).toEqual(['endpoint']);
    expect(lines.some((l) => l.includes('could not start a broken source (boom)') && l.includes('[MON_START_FAILED]'))).toBe(true);
    expect(lines.some((l) => l.includes('could not start a rejecting source (nope)'))).toBe(true);
  });

  it('cancelled (the pipeline shut down first), runs nothing', async () => {
    const ran: string[] = [];
    afterStartUp('the endpoint', 'endpoint', () => void ran.push('endpoint'));
    cancelAfterStartUp();
    await vi.advanceTimersByTimeAsync(START_UP_GRACE_MS * 2);
    expect(ran).toEqual([]);
  });
});
