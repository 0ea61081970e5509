import dc from 'node:diagnostics_channel';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { DbMetrics } from '../../src/db/db-metrics.js';
import { instrumentNodeRedisPools } from '../../src/db/node-redis.js';

let stop: (() => void) | undefined;
afterEach(() => stop?.());

async function waits(metrics: DbMetrics): Promise<Array<[unknown, unknown, number]>> {
  const { resourceMetrics } = await metrics.producer().collect();
  const metric = resourceMetrics.scopeMetrics[0]?.metrics.find((m) => m.descriptor.name === 'db.client.connection.wait_time') as HistogramMetricData | undefined;
  return (metric?.dataPoints ?? []).map((p) => [p.attributes['server.address'], p.attributes['server.port'], p.value.count]);
}

const ready = (clientId: string, serverAddress: string, serverPort = 6379): void =>
  dc.channel('node-redis:connection:ready').publish({ clientId, serverAddress, serverPort, createTimeMs: 1 });
const wait = (clientId: string, waitStartTimestamp: unknown = performance.now() - 2): void =>
  dc.channel('node-redis:pool:connection-wait').publish({ clientId, waitStartTimestamp });

describe('instrumentNodeRedisPools', () => {
  it("times a pool's wait on the server its client got ready on", async () => {
    const metrics = new DbMetrics();
    stop = instrumentNodeRedisPools(metrics);
    ready('a', 'cache-1');
    ready('b', 'cache-2', 6380);
    wait('a');
    wait('a');
    wait('b');
    expect(await waits(metrics)).toEqual([
      ['cache-1', 6379, 2],
      ['cache-2', 6380, 1],
    ]);
    const { resourceMetrics } = await metrics.producer().collect();
    const point = (resourceMetrics.scopeMetrics[0]!.metrics[0] as HistogramMetricData).dataPoints[0]!;
    // Timed from node-redis' own waitStartTimestamp (performance.now(), the same clock).
    expect(point.value.sum).toBeGreaterThanOrEqual(0.002);
  });

  it('counts nothing for a client never seen ready, one that closed, or a malformed event', async () => {
    const metrics = new DbMetrics();
    stop = instrumentNodeRedisPools(metrics);
    wait('unknown');
    ready('gone', 'cache');
    dc.channel('node-redis:connection:closed').publish({ clientId: 'gone', reason: 'application_close', wasConnected: true });
    wait('gone');
    ready('odd', 'cache');
    wait('odd', 'yesterday');
    expect(() => dc.channel('node-redis:pool:connection-wait').publish(undefined)).not.toThrow();
    expect(() => dc.channel('node-redis:connection:ready').publish(null)).not.toThrow();
    expect(await waits(metrics)).toEqual([]);
  });

  it('remembers at most 1 000 clients, forgetting the oldest first', async () => {
    const metrics = new DbMetrics();
    stop = instrumentNodeRedisPools(metrics);
    for (let i = 0; i <= 1000; i++) ready(`c${i}`, 'cache');
    wait('c0');
    wait('c1');
    wait('c1000');
    expect(await waits(metrics)).toEqual([['cache', 6379, 2]]);
  });
});
