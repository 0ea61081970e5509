import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CollectionResult, MetricProducer, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { CarryOver, readCarried } from '../../src/cluster/carry-over.js';
import { captureStderr } from '../stderr.js';
import { counter, gauge, hostScope, scope, values } from './metric-data.js';

const captured = captureStderr();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mon-carry-'));
  dirs.push(dir);
  return path.join(dir, 'mon', '3.json');
}

/** A process's producer: `requests` served so far, and one per-process gauge. */
function processWith(requests: () => number): MetricProducer {
  return {
    collect: async (): Promise<CollectionResult> => ({
      resourceMetrics: {
        resource: undefined as never,
        scopeMetrics: [...scope(counter('http.server.requests', [[{ method: 'GET' }, requests()]])), ...hostScope(gauge('process.uptime', 1))],
      },
      errors: [],
    }),
  };
}

const requestsIn = (scopes: ScopeMetrics[]) => values(scopes, 'http.server.requests')[0]?.[1];

describe('CarryOver', () => {
  it('writes what it serves before serving it, and its successor of the same generation carries on from there', async () => {
    const at = file();
    let served = 7;
    const first = new CarryOver(processWith(() => served), await readCarried(at, 'g1'), { file: at, generation: 'g1', producers: [], writeWaitMillis: 10_000 });
    expect(requestsIn((await first.collect()).resourceMetrics.scopeMetrics)).toBe(7);
    // Already on disk when the scrape got its answer.
    expect(JSON.parse(readFileSync(at, 'utf8')).generation).toBe('g1');

    // The process dies; pm2's replacement starts from zero and adds the carried 7.
    served = 2;
    const successor = new CarryOver(processWith(() => served), await readCarried(at, 'g1'), { file: at, generation: 'g1', producers: [], writeWaitMillis: 10_000 });
    const scopes = (await successor.collect()).resourceMetrics.scopeMetrics;
    expect(requestsIn(scopes)).toBe(9);
    // Per-process gauges stay its own, unlabelled.
    expect(values(scopes, 'process.uptime')).toEqual([[{}, 1]]);

    // And the one after it: 9 carried.
    served = 0;
    const third = new CarryOver(processWith(() => served), await readCarried(at, 'g1'), { file: at, generation: 'g1', producers: [], writeWaitMillis: 10_000 });
    expect(requestsIn((await third.collect()).resourceMetrics.scopeMetrics)).toBe(9);
  });

  it('starts over for another generation (the app deleted and started again), or without a file', async () => {
    const at = file();
    await new CarryOver(processWith(() => 7), undefined, { file: at, generation: 'g1', producers: [], writeWaitMillis: 10_000 }).collect();
    expect(await readCarried(at, 'g2')).toBeUndefined();
    expect(await readCarried(path.join(path.dirname(at), 'none.json'), 'g1')).toBeUndefined();
  });

  it('between scrapes writes the producers afresh, keeping the carried totals of the rest', async () => {
    const at = file();
    await new CarryOver(processWith(() => 5), undefined, { file: at, generation: 'g', producers: [], writeWaitMillis: 10_000 }).collect();
    let served = 0;
    const producer = processWith(() => served);
    const carryOver = new CarryOver(producer, await readCarried(at, 'g'), { file: at, generation: 'g', producers: [producer], intervalMillis: 20, writeWaitMillis: 10_000 });
    const stop = carryOver.start();
    served = 4;
    // Never scraped: the file comes to hold the carried 5 plus the 4 read between scrapes (a
    // refresh every 20 ms; polled, as a loaded machine may take longer than a few refreshes).
    const deadline = Date.now() + 3_000;
    let held: number | undefined;
    while (Date.now() < deadline) {
      const carried = await readCarried(at, 'g');
      held = carried && requestsIn(carried);
      if (held === 9) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    stop();
    expect(held).toBe(9);
  });

  it('never lets a refresh that read its producers before a scrape overwrite what the scrape served', async () => {
    const at = file();
    let release!: () => void;
    let called!: () => void;
    const asked = new Promise<void>((resolve) => (called = resolve));
    // The producers, read between scrapes: slow this time, and 3 requests old when they answer.
    const slow: MetricProducer = {
      collect: async () => {
        called();
        await new Promise<void>((resolve) => (release = resolve));
        return processWith(() => 3).collect();
      },
    };
    const carryOver = new CarryOver(processWith(() => 8), undefined, { file: at, generation: 'g', producers: [slow], intervalMillis: 10, writeWaitMillis: 10_000 });
    const stop = carryOver.start();
    await asked;
    stop();
    expect(requestsIn((await carryOver.collect()).resourceMetrics.scopeMetrics)).toBe(8);
    release();
    await new Promise((r) => setTimeout(r, 100));
    expect(requestsIn((await readCarried(at, 'g'))!)).toBe(8);
  });

  it('cannot write: one warning, and the metrics are served all the same', async () => {
    // A file where its directory should be.
    const blocker = file();
    await new CarryOver(processWith(() => 1), undefined, { file: blocker, generation: 'g', producers: [], writeWaitMillis: 10_000 }).collect();
    const carryOver = new CarryOver(processWith(() => 1), undefined, { file: path.join(blocker, 'x.json'), generation: 'g', producers: [], writeWaitMillis: 10_000 });
    expect(requestsIn((await carryOver.collect()).resourceMetrics.scopeMetrics)).toBe(1);
    expect(requestsIn((await carryOver.collect()).resourceMetrics.scopeMetrics)).toBe(1);
    expect(captured()).toEqual([expect.stringMatching(/^mon: cannot keep this pm2 instance's totals in .*x\.json .*start from zero when pm2 restarts it.*\[MON_PM2_CARRY_OVER\]\n$/)]);
  });
});
