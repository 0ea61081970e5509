import { AggregationTemporality, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { serialize } from '@mon/prometheus';
import { describe, expect, it } from 'vitest';
import { CREATE, DbMetrics, MARIADB, MYSQL, OPERATION, REDIS, WAIT } from '../../src/db/db-metrics.js';
import { MAX_ERROR_TYPES } from '../../src/http-client-metrics.js';
import { REDIS_CODES } from '../../src/db/redis-operation.js';

async function collect(producer: ReturnType<DbMetrics['producer']>): Promise<Record<string, HistogramMetricData>> {
  const { resourceMetrics } = await producer.collect();
  return Object.fromEntries((resourceMetrics.scopeMetrics[0]?.metrics ?? []).map((m: MetricData) => [m.descriptor.name, m as HistogramMetricData]));
}

const GET = REDIS_CODES.get('GET')!;

describe('DbMetrics', () => {
  it('keeps one series per (target, operation, error), with the conventions’ attributes, per instrument', async () => {
    const metrics = new DbMetrics();
    const redis = metrics.target(REDIS, 'cache.local', 6379);
    metrics.record(OPERATION, redis, GET, 0, 150);
    metrics.record(OPERATION, redis, GET, 0, 250);
    metrics.record(OPERATION, redis, GET, metrics.errorTypeOf(new Error('WRONGTYPE Operation against a key'), REDIS), 90);
    metrics.record(CREATE, redis, 0, 0, 2_000);
    const sql = metrics.target(MYSQL, '/run/mysqld/mysqld.sock', undefined);
    metrics.record(WAIT, sql, 0, metrics.errorTypeOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), MYSQL), 10);
    const out = await collect(metrics.producer());
    expect(out['db.client.operation.duration']!.dataPoints.map((p) => [p.attributes, p.value.count, p.value.sum])).toEqual([
      [{ 'db.system.name': 'redis', 'server.address': 'cache.local', 'server.port': 6379, 'db.operation.name': 'GET' }, 2, 0.0004],
      [{ 'db.system.name': 'redis', 'server.address': 'cache.local', 'server.port': 6379, 'db.operation.name': 'GET', 'error.type': 'WRONGTYPE' }, 1, 0.00009],
    ]);
    expect(out['db.client.connection.create_time']!.dataPoints.map((p) => p.attributes)).toEqual([
      { 'db.system.name': 'redis', 'server.address': 'cache.local', 'server.port': 6379 },
    ]);
    // A socket path has no port.
    expect(out['db.client.connection.wait_time']!.dataPoints.map((p) => p.attributes)).toEqual([
      { 'db.system.name': 'mysql', 'server.address': '/run/mysqld/mysqld.sock', 'error.type': 'ECONNREFUSED' },
    ]);
    expect(out['db.client.operation.duration']!.descriptor.unit).toBe('s');
  });

  it('sends no scope at all before the first operation', async () => {
    const { resourceMetrics } = await new DbMetrics().producer().collect();
    expect(resourceMetrics.scopeMetrics).toEqual([]);
  });

  it('caps targets: past maxHosts, operations count under one _OTHER target per system without a port, warned once', async () => {
    let warnings = 0;
    const metrics = new DbMetrics({ maxHosts: 2, onTooManyHosts: () => warnings++ });
    for (let i = 0; i < 10; i++) metrics.record(OPERATION, metrics.target(REDIS, `h${i}.local`, 6379), GET, 0, 1);
    // The same target again is found, not created.
    expect(metrics.target(REDIS, 'h0.local', 6379)).toBe(metrics.target(REDIS, 'h0.local', 6379));
    expect(metrics.size.targets).toBe(2);
    expect(warnings).toBe(1);
    const points = (await collect(metrics.producer()))['db.client.operation.duration']!.dataPoints;
    expect(points.map((p) => [p.attributes['server.address'], p.attributes['server.port'], p.value.count])).toEqual([
      ['h0.local', 6379, 1],
      ['h1.local', 6379, 1],
      ['_OTHER', undefined, 8],
    ]);
  });

  it('counts invalid addresses and ports under _OTHER without using up the cap', () => {
    const metrics = new DbMetrics({ maxHosts: 2 });
    const other = metrics.target(REDIS, '', 6379);
    expect(other.attributes['server.address']).toBe('_OTHER');
    // Longer than outgoing HTTP's 128 characters.
    expect(metrics.target(REDIS, 'x'.repeat(129), 6379)).toBe(other);
    expect(metrics.target(REDIS, 'ok', 70_000)).toBe(other);
    expect(metrics.target(REDIS, 42, 6379)).toBe(other);
    expect(metrics.size.targets).toBe(0);
    expect(metrics.target(REDIS, 'x'.repeat(128), 6379)).not.toBe(other);
    // A port given as a string of digits (mysql2 keeps what the app configured) is a number.
    expect(metrics.target(MYSQL, 'db', '3306').attributes['server.port']).toBe(3306);
  });

  it('caps error types at MAX_ERROR_TYPES; the rest are _OTHER', () => {
    const metrics = new DbMetrics();
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(metrics.errorTypeOf(Object.assign(new Error('x'), { code: `E_CODE_${i}` }), MYSQL));
    expect(metrics.size.errorTypes).toBe(MAX_ERROR_TYPES);
    expect(seen.has(1)).toBe(true);
  });

  it('names errors: a Redis reply by its prefix, else a code, else a class; never a message, even with a throwing getter', async () => {
    const metrics = new DbMetrics();
    const hostile = Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('no');
      },
    });
    const cases: Array<[unknown, 0 | 2]> = [
      [new Error('ERR unknown command hunter2'), REDIS],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), REDIS],
      [new Error('Connection is closed.'), REDIS],
      // For MySQL a message is never read: no code, so the class.
      [new TypeError('ERR hunter2'), MYSQL],
      [Object.assign(new Error("Table 'hunter2' doesn't exist"), { code: 'ER_NO_SUCH_TABLE' }), MYSQL],
      [hostile, REDIS],
    ];
    cases.forEach(([error, system], i) => metrics.record(OPERATION, metrics.target(system, 'db', 1000 + i), 0, metrics.errorTypeOf(error, system), 1));
    const points = (await collect(metrics.producer()))['db.client.operation.duration']!.dataPoints;
    expect(points.map((p) => p.attributes['error.type'])).toEqual(['TypeError', 'ER_NO_SUCH_TABLE', 'ERR', 'ECONNREFUSED', 'Error', 'Error']);
  });

  it('is mariadb for a server whose handshake said so, mysql for any other', () => {
    const metrics = new DbMetrics();
    expect(metrics.sqlSystem('db', 3306)).toBe(MYSQL);
    metrics.markMariaDb('db', 3306);
    metrics.markMariaDb('db', 3306);
    expect(metrics.sqlSystem('db', 3306)).toBe(MARIADB);
    expect(metrics.sqlSystem('db', 3307)).toBe(MYSQL);
    expect(metrics.size.mariadbServers).toBe(1);
    expect(metrics.target(MARIADB, 'db', 3306).attributes['db.system.name']).toBe('mariadb');
  });

  it('caps series: past maxSeries one otel.metric.overflow series per instrument, warned once', async () => {
    let warnings = 0;
    const metrics = new DbMetrics({ maxSeries: 3, onOverflow: () => warnings++ });
    const redis = metrics.target(REDIS, 'cache', 6379);
    for (let op = 0; op < 10; op++) metrics.record(OPERATION, redis, op, 0, 1);
    metrics.record(CREATE, redis, 0, 0, 1);
    const out = await collect(metrics.producer());
    const points = out['db.client.operation.duration']!.dataPoints;
    expect(points.length).toBe(4);
    expect(points.at(-1)!.attributes).toEqual({ 'otel.metric.overflow': true });
    expect(points.at(-1)!.value.count).toBe(7);
    expect(out['db.client.connection.create_time']!.dataPoints.map((p) => p.attributes)).toEqual([{ 'otel.metric.overflow': true }]);
    expect(warnings).toBe(1);
  });

  it('gives delta readers the differences since their last collection, and skips series with nothing new', async () => {
    const metrics = new DbMetrics();
    const redis = metrics.target(REDIS, 'cache', 6379);
    const delta = metrics.producer(AggregationTemporality.DELTA);
    metrics.record(OPERATION, redis, GET, 0, 100);
    expect((await collect(delta))['db.client.operation.duration']!.dataPoints[0]!.value.count).toBe(1);
    expect(await collect(delta)).toEqual({});
    metrics.record(OPERATION, redis, GET, 0, 100);
    metrics.record(OPERATION, redis, GET, 0, 100);
    const point = (await collect(delta))['db.client.operation.duration']!.dataPoints[0]!;
    expect(point.value.count).toBe(2);
    expect(point.value.min).toBeUndefined();
    // The cumulative reader is not affected.
    expect((await collect(metrics.producer()))['db.client.operation.duration']!.dataPoints[0]!.value.count).toBe(3);
  });

  it('at its caps adds at most 10.5 MB to /metrics (docs/security.md), even with addresses that all need escaping', async () => {
    const metrics = new DbMetrics();
    // 100 servers (MON_MAX_CLIENT_HOSTS) of 128 characters, each a `"` written as two; error types of 64 characters.
    for (let host = 0; host < 100; host++) {
      const target = metrics.target(MYSQL, `${'"'.repeat(124)}${String(host).padStart(4, '0')}`, 65535);
      for (let e = 0; e < 12; e++) {
        metrics.record(OPERATION, target, 7, metrics.errorTypeOf({ code: `E${'X'.repeat(59)}${String(e).padStart(4, '0')}` }, MYSQL), 1);
      }
    }
    const { resourceMetrics } = await metrics.producer().collect();
    const points = resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints.length;
    // 1000 series, then the overflow one.
    expect(points).toBe(1001);
    for (const format of ['text', 'openmetrics'] as const) {
      const text = serialize({ resource: { attributes: {} } as never, scopeMetrics: resourceMetrics.scopeMetrics }, { format });
      expect(Buffer.byteLength(text), format).toBeLessThan(10.5e6);
      expect(Buffer.byteLength(text), format).toBeGreaterThan(10e6);
    }
  });
});
