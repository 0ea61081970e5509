// The Grafana dashboard's gRPC and Databases rows against the real thing, as
// test/grafana-dashboard.e2e.test.ts does for the other rows (its example app makes no gRPC or
// database calls, so it leaves these two to this file): an unmodified app under mon
// (test/fixtures/grpc-redis-load.mjs) calling its own @grpc/grpc-js server and a real redis-server
// (test/db-servers.ts), scraped every second by a real Prometheus, once with classic histograms and
// once storing native ones. Every query of both rows, the variables substituted as Grafana does
// (one target, then All), must answer with data, and the ratios must be the app's.
// Node 20 has no HTTP/2 diagnostics channels, so mon records no gRPC call there (docs/http2-grpc.md):
// on Node 20 the gRPC row's queries must answer nothing, and only the Databases row is held to data.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutDatabases, startRedis, type DbServer } from './db-servers.js';
import { root, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';
import { skipWithout, startPrometheus, type Prometheus } from './prometheus.js';

const HTTP2_CHANNELS = Number(process.versions.node.split('.')[0]) >= 22;

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ refId: string; expr: string }>;
}
const dashboard = JSON.parse(readFileSync(path.join(root, 'examples', 'grafana', 'dashboard.json'), 'utf8')) as { panels: Panel[] };
/** The panels under the row titled `title`, up to the next row. */
function row(title: string): Panel[] {
  const start = dashboard.panels.findIndex((p) => p.type === 'row' && p.title === title);
  expect(start, `row ${title}`).toBeGreaterThanOrEqual(0);
  const end = dashboard.panels.findIndex((p, i) => i > start && p.type === 'row');
  return dashboard.panels.slice(start + 1, end === -1 ? undefined : end);
}
const grpcRow = row('gRPC');
const databasesRow = row('Databases');

/** Grafana's substitution: a chosen value regex-escaped (doubled backslashes in the PromQL string), All as `.*`; $__rate_interval given. */
function substitute(expr: string, values: Record<string, string> | 'all', rateInterval: string): string {
  return expr.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (name === '__rate_interval') return rateInterval;
    if (values === 'all') return '.*';
    const value = values[name];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
  });
}

const skip = skipWithout('prometheus') || skipWithoutDatabases();

describe.skipIf(skip)("the Grafana dashboard's gRPC and Databases rows on a real Prometheus", () => {
  let redis: DbServer | undefined;
  let app: App | undefined;
  const prometheus: Record<string, Prometheus> = {};
  /** Unix seconds, one scrape after the load has run for a while. */
  let at = 0;

  beforeAll(async () => {
    redis = await startRedis();
    app = await spawnApp(path.join(root, 'test', 'fixtures', 'grpc-redis-load.mjs'), {
      env: { REDIS_PORT: String(redis.port), OTEL_SERVICE_NAME: 'grpc-redis-load' },
    });
    const target = [`127.0.0.1:${app.metricsPort}`];
    [prometheus.classic, prometheus.native] = await Promise.all([
      startPrometheus(target, '1s'),
      startPrometheus(target, '1s', { flags: ['--enable-feature=native-histograms'] }),
    ]);
    await Promise.all(Object.values(prometheus).map((p) => p.waitForScrapes(1)));
    // The app calls in a loop from its start: about 8 s of it, then one more scrape.
    await sleep(8_000);
    at = Date.now() / 1000;
    await sleep(1_200);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(prometheus).map((p) => p.stop()));
    await app?.stop();
    await redis?.stop();
  });

  it('has the panels the issues ask for, on the series mon serves', async () => {
    expect(grpcRow.map((p) => p.title)).toEqual([
      'gRPC calls served by method and status',
      'gRPC calls made by method and status',
      'gRPC served: server-fault ratio by method',
      'gRPC made: server-fault ratio by method',
      'gRPC served latency p50 / p99 by method',
      'gRPC made latency p50 / p99 by method',
    ]);
    expect(databasesRow.map((p) => p.title)).toEqual([
      'Database operations by system and operation',
      'Database error share by server',
      'Database p95 latency by operation',
      'Database connection create and wait time p95',
    ]);
    const used = new Set([...grpcRow, ...databasesRow].flatMap((p) => p.targets!.flatMap((t) => t.expr.match(/\b[a-z][a-z0-9_]*(?=\{)/g) ?? [])));
    const body = (await scrape(app!.metricsPort)).body;
    for (const name of used) {
      if (name === 'target_info') continue;
      // The series each panel reads is on the endpoint, except gRPC's on Node 20.
      const served = body.includes(`\n${name}{`);
      expect(served, name).toBe(HTTP2_CHANNELS || !name.startsWith('rpc_'));
    }
  });

  it.each(['classic', 'native'])('answers every query of both rows with data, for one target and for All (%s histograms)', async (kind) => {
    const p = prometheus[kind]!;
    const [info] = await p.query('target_info');
    expect(info!.metric.service_name).toBe('grpc-redis-load');
    const chosen = { job: info!.metric.job!, instance: info!.metric.instance!, service: info!.metric.service_name! };
    const problems: string[] = [];
    for (const values of [chosen, 'all'] as const) {
      for (const [panels, expected] of [
        [grpcRow, HTTP2_CHANNELS],
        [databasesRow, true],
      ] as const) {
        for (const panel of panels) {
          for (const target of panel.targets!) {
            // Grafana with a 1 s scrape interval makes $__rate_interval 4 s; 5 s leaves room for a late scrape.
            const expr = substitute(target.expr, values, '5s');
            const finite = (await p.query(expr, at)).filter((r) => Number.isFinite(Number(r.value[1])));
            if (finite.length > 0 !== expected) problems.push(`${panel.title} [${target.refId}]: ${finite.length} series: ${expr}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('draws the figures the app really had: the fault ratios and the database error share', async () => {
    const p = prometheus.classic!;
    const query = (panels: Panel[], title: string) => p.query(substitute(panels.find((x) => x.title === title)!.targets![0]!.expr, 'all', '10s'), at);
    if (HTTP2_CHANNELS) {
      // Explode throws (UNKNOWN, a server fault), Find answers NOT_FOUND (the caller's fault), Say and Slow OK.
      for (const title of ['gRPC served: server-fault ratio by method', 'gRPC made: server-fault ratio by method']) {
        const ratios = Object.fromEntries((await query(grpcRow, title)).map((r) => [r.metric.rpc_method, Number(r.value[1])]));
        expect(ratios, title).toEqual({ 'mon.test.Echo/Say': 0, 'mon.test.Echo/Slow': 0, 'mon.test.Echo/Find': 0, 'mon.test.Echo/Explode': 1 });
      }
      const served = await query(grpcRow, 'gRPC calls served by method and status');
      expect(served.map((r) => `${r.metric.rpc_method} ${r.metric.rpc_response_status_code}`).sort()).toEqual([
        'mon.test.Echo/Explode UNKNOWN',
        'mon.test.Echo/Find NOT_FOUND',
        'mon.test.Echo/Say OK',
        'mon.test.Echo/Slow OK',
      ]);
    }
    // Each round: INFO (ioredis' ready check), SET, GET, INCR, INCR on a string (ERR), QUIT, and two on the pool: 1 in 8 failed.
    const [share, ...others] = await query(databasesRow, 'Database error share by server');
    expect(others).toEqual([]);
    expect(share!.metric).toEqual({ db_system_name: 'redis', server_address: '127.0.0.1', server_port: String(redis!.port) });
    expect(Math.abs(Number(share!.value[1]) - 1 / 8)).toBeLessThan(0.02);
    // And on the endpoint, the same share (a round may be half done when it is read).
    const body = (await scrape(app!.metricsPort)).body;
    const all = sumSamples(body, 'db_client_operation_duration_seconds_count');
    expect(sumSamples(body, 'db_client_operation_duration_seconds_count', { error_type: 'ERR' }) / all).toBeCloseTo(1 / 8, 2);
  });
});
