// Database and cache calls of a real app under `node --import @mon/register`: mysql2, ioredis and
// node-redis (pinned devDependencies) against a real MariaDB and a real Redis (Debian's packages,
// started on loopback by test/db-servers.ts), counted exactly per (system, operation, error) from
// what the scraped endpoint shows.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDb, startRedis, skipWithoutDatabases, type DbServer } from './db-servers.js';
import { fixture, freePort, parseLabels, request, scrape, sleep, spawnApp, type App } from './helpers.js';
import { promtoolCheck, skipWithout } from './prometheus.js';

const skip = skipWithoutDatabases();
let mariadb: DbServer | undefined;
let redis: DbServer | undefined;
let closedPort = 0;
let app: App | undefined;

beforeAll(async () => {
  if (skip) return;
  [mariadb, redis] = await Promise.all([startMariaDb(), startRedis()]);
  // Free a moment ago and never listened on: connections to it are refused.
  closedPort = await freePort();
}, 90_000);

afterAll(async () => {
  await Promise.all([mariadb?.stop(), redis?.stop()]);
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function startApp(env: Record<string, string> = {}, script = 'db-calls.mjs'): Promise<App> {
  app = await spawnApp(fixture(script), {
    env: { MYSQL_PORT: String(mariadb!.port), REDIS_PORT: String(redis!.port), CLOSED_PORT: String(closedPort), ...env },
  });
  return app;
}

async function run(route: string, pids?: Set<string>): Promise<Record<string, string>> {
  const reply = await request(app!.port, route);
  expect(reply.status, reply.body).toBe(200);
  pids?.add(String(reply.headers['x-pid']));
  return JSON.parse(reply.body) as Record<string, string>;
}

/**
 * Every db_* histogram's count by `metric system operation error` for one server port, e.g.
 * `operation mariadb SELECT ER_NO_SUCH_TABLE` (a dash where a label is absent).
 */
function counts(text: string, port: number): Record<string, number> {
  const out: Record<string, number> = {};
  const short: Record<string, string> = {
    db_client_operation_duration_seconds_count: 'operation',
    db_client_connection_create_time_seconds_count: 'create',
    db_client_connection_wait_time_seconds_count: 'wait',
  };
  for (const m of text.matchAll(/^(db_\w+_count)\{(.*)\} (\S+)$/gm)) {
    const labels = parseLabels(m[2]!);
    if (labels.server_port !== String(port)) continue;
    const key = [short[m[1]!] ?? m[1], labels.db_system_name, labels.db_operation_name ?? '-', labels.error_type ?? '-'].join(' ');
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

function expectNoSecret(text: string): void {
  expect(text).not.toContain('hunter2');
  expect(text).not.toContain('s3cr3t');
  expect(text).not.toContain('mon_test');
}

describe.skipIf(skip)('database client metrics from the drivers’ tracing channels', () => {
  it('mysql2: queries, prepared statements, the callback API, a pool and failing statements, as mariadb', async () => {
    await startApp();
    expect(await run('/mysql2')).toEqual({ missing: 'ER_NO_SUCH_TABLE', badExecute: 'ER_PARSE_ERROR', callback: 'ok' });
    expect(await run('/mysql2-pool')).toEqual({ missing: 'ER_NO_SUCH_TABLE' });
    const text = (await scrape(app!.metricsPort)).body;
    expect(counts(text, mariadb!.port)).toEqual({
      'operation mariadb CREATE -': 2,
      'operation mariadb INSERT -': 2,
      // /mysql2: one query, two executes, one callback query; the pool: four queries, one execute.
      'operation mariadb SELECT -': 9,
      'operation mariadb SELECT ER_NO_SUCH_TABLE': 1,
      'operation mariadb _OTHER ER_PARSE_ERROR': 1,
      'operation mariadb UPDATE -': 1,
      'operation mariadb DELETE ER_NO_SUCH_TABLE': 1,
      // One connection of its own, two the pool opened (connectionLimit 2).
      'create mariadb - -': 3,
      // Every pool.query / pool.execute takes a connection from the pool first.
      'wait mariadb - -': 6,
    });
    // The conventions' advised boundaries are all there (mon adds finer ones below them).
    const les = [...text.matchAll(/^db_client_operation_duration_seconds_bucket\{.*db_operation_name="UPDATE",le="([^"]+)"\} (\d+)$/gm)];
    expect(les.map((m) => m[1])).toEqual(expect.arrayContaining(['0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1.0', '5.0', '10.0', '+Inf']));
    expect(les.at(-1)![2]).toBe('1');
    expectNoSecret(text);
    if (!skipWithout('promtool')) expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('ioredis: GET/SET/INCR, an INCR on a string, a wrong type, a pipeline and a MULTI', async () => {
    await startApp();
    expect(await run('/ioredis')).toEqual({ incrString: 'ERR', wrongType: 'WRONGTYPE', multi: '[[null,"OK"],[null,2]]' });
    const text = (await scrape(app!.metricsPort)).body;
    expect(counts(text, redis!.port)).toEqual({
      // ioredis' ready check, on every connection (its HELLO and CLIENT SETINFO are not counted).
      'operation redis INFO -': 1,
      // One of its own, one in the pipeline: ioredis publishes a plain pipeline command by command.
      'operation redis SET -': 2,
      'operation redis GET -': 2,
      'operation redis INCR -': 2,
      'operation redis INCR ERR': 1,
      'operation redis LPUSH WRONGTYPE': 1,
      // The transaction is one operation; its MULTI, SET, INCR and EXEC are not counted again.
      'operation redis MULTI -': 1,
      'operation redis QUIT -': 1,
      'create redis - -': 1,
    });
    expectNoSecret(text);
  });

  it('node-redis: GET/SET/INCR, an INCR on a string, a MULTI and a pipeline', async () => {
    await startApp();
    expect(await run('/node-redis')).toEqual({ incrString: 'ERR', multi: '["OK",2]', pipeline: '["OK","hunter2-s3cr3t"]' });
    const text = (await scrape(app!.metricsPort)).body;
    expect(counts(text, redis!.port)).toEqual({
      'operation redis SET -': 1,
      'operation redis GET -': 1,
      'operation redis INCR -': 2,
      'operation redis INCR ERR': 1,
      'operation redis MULTI -': 1,
      'operation redis PIPELINE -': 1,
      // Its handshake (HELLO, CLIENT SETINFO: an ERR on Redis < 7.2) is not published: the connection's creation.
      'create redis - -': 1,
    });
    expectNoSecret(text);
  });

  it('node-redis: a client pool’s waits for a client, one per command, and the connections it opens', async () => {
    await startApp();
    expect(await run('/node-redis-pool')).toEqual({});
    const text = (await scrape(app!.metricsPort)).body;
    expect(counts(text, redis!.port)).toEqual({
      'operation redis GET -': 3,
      'operation redis SET -': 1,
      // Its first client at connect, a second for the commands that had to wait.
      'create redis - -': 2,
      'wait redis - -': 4,
    });
    expectNoSecret(text);
  });

  it('connections refused: one failed connection each, by error code, and no operation', async () => {
    await startApp();
    // ioredis rejects connect() with its own "Connection is closed." (no code); the refusal is only on its 'error' event.
    expect(await run('/refused')).toEqual({ mysql2: 'ECONNREFUSED', ioredis: 'Connection', nodeRedis: 'ECONNREFUSED' });
    const text = (await scrape(app!.metricsPort)).body;
    expect(counts(text, closedPort)).toEqual({
      // No handshake came back, so nothing says MariaDB: the protocol's name.
      'create mysql - ECONNREFUSED': 1,
      'create redis - ECONNREFUSED': 1,
      'create redis - Error': 1,
    });
    expectNoSecret(text);
  });

  it('adds up the operations of node:cluster workers on the primary', async () => {
    await startApp({ WORKER_APP: 'db-calls.mjs' }, 'two-workers.mjs');
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) await run('/node-redis', pids);
    // Both workers made calls: the primary had two processes' operations to add.
    expect(pids.size).toBe(2);
    const expected = {
      'operation redis SET -': 4,
      'operation redis GET -': 4,
      'operation redis INCR -': 8,
      'operation redis INCR ERR': 4,
      'operation redis MULTI -': 4,
      'operation redis PIPELINE -': 4,
      'create redis - -': 4,
    };
    // Workers push between scrapes: poll until the primary has them all.
    const deadline = Date.now() + 10_000;
    let text = '';
    do {
      text = (await scrape(app!.metricsPort)).body;
      if (isDeepStrictEqual(counts(text, redis!.port), expected)) break;
      await sleep(100);
    } while (Date.now() < deadline);
    expect(counts(text, redis!.port)).toEqual(expected);
  });

  it('the live page shows the operations by system and name: rate, p95 and error share', async () => {
    const CHROMIUM = '/usr/bin/chromium';
    if (!existsSync(CHROMIUM)) {
      if (process.env.MON_REQUIRE_CHROMIUM === '1') throw new Error(`MON_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing`);
      console.warn(`skipping the live page's database card: ${CHROMIUM} is missing (apt-get install -y chromium)`);
      return;
    }
    await startApp();
    const userDataDir = mkdtempSync(path.join(tmpdir(), 'mon-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await context.newPage();
      await scrape(app!.metricsPort); // the endpoint opens after the app's start-up; a browser does not retry a refusal
      await page.goto(`http://127.0.0.1:${app!.metricsPort}/`);
      // Operations keep coming while the page polls (every 2 s, over a 10 s window) until it shows them.
      let rows: string[][] = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        await run('/node-redis');
        rows = await page.$$eval('#db-list tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
        if (rows.some((r) => r[0] === 'redis INCR') && rows.some((r) => r[0] === 'redis MULTI')) break;
      }
      const byName = Object.fromEntries(rows.map(([name, ...rest]) => [name, rest]));
      expect(byName['redis MULTI']![0]).toMatch(/^[\d.]+\/s$/);
      expect(byName['redis MULTI']![1]).toMatch(/ (µs|ms)$/);
      expect(byName['redis MULTI']![2]).toBe('0%');
      // Every third INCR fails (INCR on a string); the page's 10 s window may cut a run between
      // its INCRs, so about a third.
      const share = Number(/^([\d.]+)%$/.exec(byName['redis INCR']![2]!)?.[1]);
      expect(share).toBeGreaterThan(20);
      expect(share).toBeLessThan(50);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });

  it('drivers without tracing channels (mysql2 3.11, ioredis 5) give no figure at all; MON_METRICS without db neither', async () => {
    await startApp();
    const out = await run('/old');
    expect(out).toMatchObject({ mysql2: { missing: 'ER_NO_SUCH_TABLE' }, ioredis: { incrString: 'ERR' } });
    const text = (await scrape(app!.metricsPort)).body;
    expect(text).not.toMatch(/^db_/m);
    await app!.stop();

    await startApp({ MON_METRICS: 'http' });
    await run('/ioredis');
    await run('/mysql2');
    expect((await scrape(app!.metricsPort)).body).not.toMatch(/^db_/m);
  });
});
