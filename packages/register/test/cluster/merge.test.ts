import type { ExponentialHistogram, Histogram, MetricData, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ClusterMerge, PRIMARY, WORKER_ATTRIBUTE } from '../../src/cluster/merge.js';
import { decodeScopes, encodeScopes } from '../../src/cluster/wire.js';
import { BOUNDARIES, NOW, T0, T1, counter, find, gauge, histogram, hostScope, scope, upDown, values } from './metric-data.js';

describe('ClusterMerge', () => {
  it('sums counters with equal attributes whatever their order, and keeps other sets apart', () => {
    const merge = new ClusterMerge();
    const out = merge.merge(
      [
        { label: PRIMARY, scopes: [] },
        { label: '0', scopes: scope(counter('requests', [[{ method: 'GET', status: 200 }, 3], [{ method: 'POST', status: 200 }, 1]])) },
        { label: '1', scopes: scope(counter('requests', [[{ status: 200, method: 'GET' }, 4]])) },
      ],
      NOW,
    );
    expect(values(out, 'requests')).toEqual([
      [{ method: 'GET', status: 200 }, 7],
      [{ method: 'POST', status: 200 }, 1],
    ]);
    expect(find(out, 'requests')!.dataPoints.every((p) => p.endTime === NOW)).toBe(true);
  });

  it('sums histograms bucket by bucket, with the lowest min and highest max', () => {
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: scope(histogram('duration', [1, 0, 1], 2.05, 0.05, 2)) },
        { label: '1', scopes: scope(histogram('duration', [0, 3, 0], 0.9, 0.2, 0.4)) },
      ],
      NOW,
    );
    const h = find(out, 'duration')!.dataPoints[0]!.value as Histogram;
    expect(h.buckets).toEqual({ boundaries: BOUNDARIES, counts: [1, 3, 1] });
    expect([h.count, h.sum, h.min, h.max]).toEqual([5, 2.05 + 0.9, 0.05, 2]);
  });

  it('carries exponential buckets through IPC and sums them at the coarser scale', () => {
    const withExponential = (counts: number[], sum: number, scale: number, offset: number, bucketCounts: number[]): MetricData => {
      const metric = histogram('duration', counts, sum, 0.05, 2);
      const value = metric.dataPoints[0]!.value as Histogram & { exponential?: ExponentialHistogram };
      value.exponential = {
        count: value.count,
        sum,
        min: 0.05,
        max: 2,
        scale,
        zeroCount: 0,
        positive: { offset, bucketCounts },
        negative: { offset: 0, bucketCounts: [] },
      };
      return metric;
    };
    const a = scope(withExponential([1, 0, 1], 2.05, 3, -4, [1, 0, 0, 1]));
    const b = scope(withExponential([0, 3, 0], 0.9, 2, -1, [3]));
    const decoded = decodeScopes(encodeScopes(a), NOW);
    expect((decoded[0]!.metrics[0]!.dataPoints[0]!.value as { exponential: ExponentialHistogram }).exponential).toEqual(
      (a[0]!.metrics[0]!.dataPoints[0]!.value as { exponential: ExponentialHistogram }).exponential,
    );
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: decoded },
        { label: '1', scopes: decodeScopes(encodeScopes(b), NOW) },
      ],
      NOW,
    );
    const { exponential } = find(out, 'duration')!.dataPoints[0]!.value as { exponential: ExponentialHistogram };
    // Scale 3 buckets -4 and -1 are scale 2 buckets -2 and -1; the other process adds 3 to -1.
    expect(exponential).toMatchObject({ count: 5, scale: 2, zeroCount: 0, positive: { offset: -2, bucketCounts: [1, 4] } });
  });

  it('keeps the first buckets when two processes disagree on the boundaries', () => {
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: scope(histogram('duration', [1, 0, 0], 0.05, 0.05, 0.05)) },
        { label: '1', scopes: scope(histogram('duration', [0, 0, 0, 9], 90, 10, 10, {}, [0.1, 1, 5])) },
      ],
      NOW,
    );
    expect((find(out, 'duration')!.dataPoints[0]!.value as Histogram).count).toBe(1);
  });

  it('labels gauges and process-level up-down counters per process, and sums levels', () => {
    const out = new ClusterMerge().merge(
      [
        { label: PRIMARY, scopes: hostScope(upDown('process.memory.usage', [[{}, 100]]), gauge('nodejs.eventloop.delay.p99', 0.001)) },
        { label: '0', scopes: [...hostScope(upDown('process.memory.usage', [[{}, 200]])), ...scope(upDown('http.server.active_requests', [[{ method: 'GET' }, 2]]))] },
        { label: '1', scopes: [...hostScope(upDown('process.memory.usage', [[{}, 300]])), ...scope(upDown('http.server.active_requests', [[{ method: 'GET' }, 1]]))] },
      ],
      NOW,
    );
    expect(values(out, 'process.memory.usage')).toEqual([
      [{ [WORKER_ATTRIBUTE]: PRIMARY }, 100],
      [{ [WORKER_ATTRIBUTE]: '0' }, 200],
      [{ [WORKER_ATTRIBUTE]: '1' }, 300],
    ]);
    expect(values(out, 'nodejs.eventloop.delay.p99')).toEqual([[{ [WORKER_ATTRIBUTE]: PRIMARY }, 0.001]]);
    expect(values(out, 'http.server.active_requests')).toEqual([[{ method: 'GET' }, 3]]);
  });

  it('takes system.* from the first contribution only, unlabelled', () => {
    const out = new ClusterMerge().merge(
      [
        { label: PRIMARY, scopes: hostScope(upDown('system.memory.usage', [[{ state: 'used' }, 1000]])) },
        { label: '0', scopes: hostScope(upDown('system.memory.usage', [[{ state: 'used' }, 1000]])) },
      ],
      NOW,
    );
    expect(values(out, 'system.memory.usage')).toEqual([[{ state: 'used' }, 1000]]);
  });

  it("sums an app's own system.* instruments like any other, from every process", () => {
    const out = new ClusterMerge().merge(
      [
        { label: PRIMARY, scopes: scope(counter('system.jobs', [[{}, 1]])) },
        { label: '0', scopes: scope(counter('system.jobs', [[{}, 2]])) },
      ],
      NOW,
    );
    expect(values(out, 'system.jobs')).toEqual([[{}, 3]]);
  });

  it('starts a summed series at the earliest start time', () => {
    const out = new ClusterMerge().merge(
      [
        { label: '0', scopes: scope(counter('c', [[{}, 1]], T1)) },
        { label: '1', scopes: scope(counter('c', [[{}, 1]], T0)) },
      ],
      NOW,
    );
    expect(find(out, 'c')!.dataPoints[0]!.startTime).toEqual(T0);
  });

  it('never modifies its inputs', () => {
    const inputs = [
      { label: '0', scopes: scope(counter('c', [[{}, 1]]), histogram('d', [1, 0, 0], 0.05, 0.05, 0.05), gauge('g', 1)) },
      { label: '1', scopes: scope(counter('c', [[{}, 2]]), histogram('d', [0, 1, 0], 0.5, 0.5, 0.5), gauge('g', 2)) },
    ];
    const before = JSON.stringify(inputs);
    const merge = new ClusterMerge();
    merge.merge(inputs, NOW);
    merge.retire(inputs[0]!.scopes);
    merge.merge(inputs, NOW);
    expect(JSON.stringify(inputs)).toBe(before);
  });

  it('keeps the totals of a worker that exited, so counters never go backwards', () => {
    const merge = new ClusterMerge();
    const total = (contributions: Array<{ label: string; scopes: ScopeMetrics[] }>) => {
      const out = merge.merge(contributions, NOW);
      return {
        requests: values(out, 'requests')[0]?.[1],
        duration: (find(out, 'duration')?.dataPoints[0]?.value as Histogram | undefined)?.count,
        active: values(out, 'active'),
        rss: values(out, 'process.memory.usage'),
      };
    };
    const worker = (requests: number, active: number, rss: number) =>
      [...scope(counter('requests', [[{}, requests]]), histogram('duration', [requests, 0, 0], 0, 0, 0), upDown('active', [[{}, active]])), ...hostScope(upDown('process.memory.usage', [[{}, rss]]))];

    expect(total([{ label: '0', scopes: worker(5, 1, 10) }, { label: '1', scopes: worker(7, 0, 20) }])).toEqual({
      requests: 12,
      duration: 12,
      active: [[{}, 1]],
      rss: [[{ [WORKER_ATTRIBUTE]: '0' }, 10], [{ [WORKER_ATTRIBUTE]: '1' }, 20]],
    });
    // Worker 0 dies; its replacement takes slot 0 and starts from zero.
    merge.retire(worker(5, 1, 10));
    expect(total([{ label: '1', scopes: worker(7, 0, 20) }])).toEqual({ requests: 12, duration: 12, active: [[{}, 0]], rss: [[{ [WORKER_ATTRIBUTE]: '1' }, 20]] });
    expect(total([{ label: '0', scopes: worker(2, 0, 11) }, { label: '1', scopes: worker(7, 0, 20) }])).toEqual({
      requests: 14,
      duration: 14,
      active: [[{}, 0]],
      rss: [[{ [WORKER_ATTRIBUTE]: '0' }, 11], [{ [WORKER_ATTRIBUTE]: '1' }, 20]],
    });
    // With no live process at all, the retired totals still show.
    expect(total([]).requests).toBe(5);
  });
});
