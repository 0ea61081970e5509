// An attacker's probe (issue 18), replayed against real processes: each test sends what the probe
// sent and checks what the app and its metrics port then do. Timing is always relative: the app's
// own requests under attack against the same requests just before, on the same machine.
import dns from 'node:dns';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os, { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, routeCounts, scrape, spawnApp, sumSamples, waitForEndpoint, type App } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** Milliseconds a GET takes from connect to end, or Infinity after `timeoutMs` (the app froze). */
function timedGet(port: number, path: string, timeoutMs: number, agent: http.Agent | false = false): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve(Infinity);
    });
    req.on('error', () => resolve(Infinity));
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** `count` innocent GETs of `/`, one after another; their latencies in ms. */
async function innocentLatencies(port: number, count: number, timeoutMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const ms = await timedGet(port, '/', timeoutMs);
    out.push(ms);
    if (ms === Infinity) break; // frozen: no point in waiting for the rest
  }
  return out;
}

describe('path patterns cannot be turned against the app (regex backtracking)', () => {
  // 12 KB: `x/y/` 3000 times, which held the event loop 18 s per request with the regex matcher.
  const hostile = `/${'x/y/'.repeat(3000)}`;
  it.each([
    ['MON_IGNORE_PATHS', { MON_IGNORE_PATHS: '/**/x/**/y/**/z' }],
    ['MON_ROUTE_PATTERNS', { MON_ROUTE_PATTERNS: '/*/x/*/y/*/z' }],
  ])('%s: innocent requests keep their latency while crafted paths arrive', async (_name, env) => {
    app = await spawnApp(fixture('plain-server.mjs'), { env });
    await innocentLatencies(app.port, 20, 5_000); // warm-up
    const baseline = await innocentLatencies(app.port, 100, 5_000);
    // 8 attackers sending crafted paths back to back while the same innocent requests run.
    let attacking = true;
    let sent = 0;
    const attacker = async (): Promise<void> => {
      while (attacking && sent < 400) {
        sent++;
        await timedGet(app!.port, hostile, 5_000);
      }
    };
    const attackers = Array.from({ length: 8 }, attacker);
    const underAttack = await innocentLatencies(app.port, 100, 5_000);
    attacking = false;
    await Promise.all(attackers);
    const before = percentile(baseline, 50);
    const during = percentile(underAttack, 50);
    console.log(`innocent p50 ${before.toFixed(2)} ms before, ${during.toFixed(2)} ms under ${sent} crafted paths (p90 ${percentile(baseline, 90).toFixed(2)} -> ${percentile(underAttack, 90).toFixed(2)})`);
    // With the regex matcher one crafted path held the loop for seconds: the innocent requests
    // timed out (5 s) and the list stopped short. Eight connections of crafted 12 KB requests do
    // cost some parsing: 10x or 30 ms on the median leave room for that and for a machine busy with
    // other tests, and none for a matcher that backtracks.
    expect(underAttack).toHaveLength(100);
    expect(during).toBeLessThan(Math.max(10 * before, 30));
    expect(sent).toBeGreaterThan(8);
  }, 60_000);

  it('one warning for an unusable pattern; the usable ones apply, `**/` matching no directory too', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_IGNORE_PATHS: '/static/**.map,/static/**/*.map', MON_ROUTE_PATTERNS: '/files/*.png,/users/:id' } });
    for (const path of ['/static/app.js.map', '/static/a/app.js.map', '/users/7', '/other']) await request(app.port, path);
    const text = (await scrape(app.metricsPort)).body;
    expect(sumSamples(text, 'http_server_requests_total')).toBe(2);
    expect(sumSamples(text, 'http_server_requests_total', { http_route: '/users/:id' })).toBe(1);
    const warnings = app.stderr().split('\n').filter((l) => l.startsWith('mon: '));
    expect(warnings).toEqual([
      'mon: MON_IGNORE_PATHS entry "/static/**.map" is unusable ("**" must be a whole segment ("/a/**/b"), not part of "**.map"); it is ignored, the other entries apply. [MON_BAD_ENV]',
      'mon: MON_ROUTE_PATTERNS entry "/files/*.png" is unusable ("*" must be a whole segment ("/files/*"), not part of "*.png"); it is ignored, the other entries apply. [MON_BAD_ENV]',
    ]);
  });
});

describe('the metrics port against DNS rebinding', () => {
  it('bound to loopback (the default), it answers only Hosts that name loopback', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { OTEL_EXPORTER_PROMETHEUS_HOST: undefined } });
    for (const path of ['/metrics', '/']) {
      const rebound = await request(app.metricsPort, path, { headers: { host: `attacker.example:${app.metricsPort}` } });
      expect(rebound.status, path).toBe(421);
      expect(rebound.body).not.toMatch(/http_server|<html/i);
      expect(rebound.headers['x-content-type-options']).toBe('nosniff');
      const local = await request(app.metricsPort, path, { headers: { host: `localhost:${app.metricsPort}` } });
      expect(local.status, path).toBe(200);
      expect(local.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  // Issue 24: the check was decided from the configured name, so any other name for loopback (the
  // machine's own name in /etc/hosts, `localhost.localdomain`, or `127.1`, which the resolver reads
  // as 127.0.0.1 whatever /etc/hosts says) turned it off. Names here that resolve to 127.x are tried.
  it('bound to loopback through any name, it still refuses foreign Hosts, and answers to that name', async () => {
    const candidates = ['127.1', os.hostname(), 'localhost.localdomain', 'ip6-localhost'];
    const names: string[] = [];
    for (const name of candidates) {
      const address = await dns.promises.lookup(name, { family: 4 }).then((a) => a.address, () => undefined);
      if (address?.startsWith('127.') === true) names.push(name);
    }
    console.log(`names resolving to loopback here: ${names.join(', ')}`);
    expect(names).toContain('127.1');
    for (const name of names) {
      app = await spawnApp(fixture('plain-server.mjs'), { env: { OTEL_EXPORTER_PROMETHEUS_HOST: name } });
      for (const path of ['/metrics', '/']) {
        const rebound = await request(app.metricsPort, path, { headers: { host: `attacker.example:${app.metricsPort}` } });
        expect(rebound.status, `${name} ${path}`).toBe(421);
        expect(rebound.body).not.toMatch(/http_server|<html/i);
        expect((await request(app.metricsPort, path, { headers: { host: `${name}:${app.metricsPort}` } })).status, `${name} ${path}`).toBe(200);
      }
      await app.stop();
      app = undefined;
    }
  }, 60_000);

  it('a Host with an IPv6 zone id gets 421, not 500', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { OTEL_EXPORTER_PROMETHEUS_HOST: undefined } });
    for (const host of ['[fe80::1%lo]', `[fe80::1%25lo]:${app.metricsPort}`]) {
      expect((await request(app.metricsPort, '/metrics', { headers: { host } })).status, host).toBe(421);
    }
  });

  it('bound to all interfaces, any Host, as a remote Prometheus needs', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0' } });
    expect((await request(app.metricsPort, '/metrics', { headers: { host: 'app.internal.example' } })).status).toBe(200);
  });
});

describe('a scrape flood', () => {
  /** Innocent latencies before and during 3 s of 40 keep-alive connections scraping back to back. */
  async function flood(target: App): Promise<{ scrapes: number; collections: number; callbackMs: number; elapsed: number; p50Before: number; p50During: number; during: number[] }> {
    const baseline = await innocentLatencies(target.port, 100, 5_000);
    const before = JSON.parse((await request(target.port, '/collections')).body) as { collections: number; ms: number };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 40 });
    let scrapes = 0;
    const until = performance.now() + 3_000;
    const scraper = async (): Promise<void> => {
      while (performance.now() < until) {
        if ((await timedGet(target.metricsPort, '/metrics', 5_000, agent)) !== Infinity) scrapes++;
      }
    };
    const started = performance.now();
    const scrapers = Array.from({ length: 40 }, scraper);
    const during = await innocentLatencies(target.port, 100, 5_000);
    await Promise.all(scrapers);
    const elapsed = performance.now() - started;
    agent.destroy();
    const after = JSON.parse((await request(target.port, '/collections')).body) as { collections: number; ms: number };
    const result = {
      scrapes,
      collections: after.collections - before.collections,
      callbackMs: after.ms - before.ms,
      elapsed,
      p50Before: percentile(baseline, 50),
      p50During: percentile(during, 50),
      during,
    };
    console.log(
      `${scrapes} scrapes in ${elapsed.toFixed(0)} ms shared ${result.collections} collections (${result.callbackMs} ms of callbacks); ` +
        `innocent p50 ${result.p50Before.toFixed(2)} ms before, ${result.p50During.toFixed(2)} ms during`,
    );
    return result;
  }

  it('shares collections and leaves the app most of its event loop', async () => {
    // Each collection costs the app 50 ms of CPU (a costly gauge); 40 keep-alive connections scrape
    // back to back, far more than 1000 scrapes a second would need if each collected.
    app = await spawnApp(fixture('costly-collection.mjs'), { env: { COLLECT_COST_MS: '50' } });
    // Scrapers started before it opens would spin on refused connections in this process, which
    // also times the innocent requests.
    await waitForEndpoint(app.metricsPort);
    await innocentLatencies(app.port, 20, 5_000); // warm-up
    const result = await flood(app);
    // Far fewer collections than scrapes, and the callbacks took at most about a tenth of the time
    // (the pacing's bound, PAUSE_PER_COST in reader.ts; 20% leaves room for timer lateness).
    // Collecting on every scrape: one collection per scrape, most of the time.
    expect(result.scrapes).toBeGreaterThan(0);
    expect(result.collections).toBeLessThan(result.scrapes / 4);
    expect(result.callbackMs).toBeLessThan(result.elapsed * 0.2);
    expect(result.during).toHaveLength(100);
    // The app's own requests: collecting on every scrape held the loop nearly all the time, and
    // the median innocent request waited tens of ms behind a collection; paced, nine in ten
    // requests meet no collection at all, so the median stays near the baseline. 20 ms leaves
    // room for a machine busy with other tests (the median, unlike the p90, shrugs off a few
    // requests that met a collection or another process).
    expect(result.p50During).toBeLessThan(Math.max(3 * result.p50Before, 20));
  }, 60_000);
});

/** Every distinct http_route value in exposition text. */
function routeValues(text: string): Set<string> {
  return new Set([...text.matchAll(/http_route="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!));
}

/** Sends `paths` from `connections` keep-alive connections; resolves when all are answered. */
async function sendAll(port: number, paths: string[], connections = 16): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) await timedGet(port, paths[next++]!, 10_000, agent);
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
}

describe('label values are bounded in length', () => {
  describe.each(['express', 'express4'])('%s', (express) => {
    it('a parameter in a mount path never reaches the label as itself', async () => {
      app = await spawnApp(fixture('express-mount-params.cjs'), { env: { EXPRESS: express } });
      // The probe: 1100 requests, each with its own 15 000-character org (with a '.', so no id rule
      // applies), which made /metrics 174 MB.
      const long = (i: number): string => `${'a'.repeat(7_500)}.${i}${'b'.repeat(7_500)}`;
      await sendAll(app.port, Array.from({ length: 1100 }, (_, i) => `/orgs/${long(i)}/items`));
      for (const path of ['/orgs/acme/items', '/orgs/Other/items/7', '/orgs/acme/teams/blue', '/accounts/42/invoices/9']) {
        expect((await request(app.port, path)).status, path).toBe(200);
      }
      const text = (await scrape(app.metricsPort)).body;
      expect(sumSamples(text, 'http_server_requests_total', { http_route: '/orgs/:org/items' })).toBe(1101);
      expect(sumSamples(text, 'http_server_requests_total', { http_route: '/orgs/:org/items/:id' })).toBe(1);
      expect(sumSamples(text, 'http_server_requests_total', { http_route: '/orgs/:org/teams/:team' })).toBe(1);
      expect(sumSamples(text, 'http_server_requests_total', { http_route: '/accounts/:account/invoices/:n' })).toBe(1);
      expect(routeValues(text)).toEqual(new Set(['/orgs/:org/items', '/orgs/:org/items/:id', '/orgs/:org/teams/:team', '/accounts/:account/invoices/:n']));
      expect(text).not.toContain('acme');
      expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024);
    }, 60_000);

    it('a mount the walk cannot explain gives no route, never the path the client sent', async () => {
      app = await spawnApp(fixture('express-mount-params.cjs'), { env: { EXPRESS: express } });
      // The probe: a router called from a function of the app's (`(req, res, next) => router(req, res,
      // next)`) gave http_route="/wrapped/client-text-1/items"; a regex mount on Express 4, `/v1001/items`.
      for (let i = 0; i < 3; i++) {
        expect((await request(app.port, `/wrapped/client-text-${i}/items`)).body).toBe('wrapped items');
        expect((await request(app.port, `/deep/client-text-${i}/teams/t${i}/items`)).body).toBe('deep items');
        expect((await request(app.port, `/v100${i}/items`)).body).toBe('versioned items');
      }
      const text = (await scrape(app.metricsPort)).body;
      expect(text).not.toContain('client-text');
      expect(text).not.toMatch(/v100\d/);
      expect(routeCounts(text)).toEqual({
        // The mount layer's own pattern explains the whole mount path.
        '/wrapped/:org/items': 3,
        // A regex mount keeps its pattern, as Express shows it (String(regexp)).
        '/^\\/v\\d+//items': 3,
        // A router nested inside the function is out of the walk's reach: no route at all.
        '(none)': 3,
      });
      if (express !== 'express4') return;
      for (let i = 1; i <= 3; i++) expect((await request(app.port, `/re${'g'.repeat(i)}ion/${i}/items`)).status).toBe(200);
      expect((await request(app.port, '/opt/x')).body).toBe('optional');
      expect((await request(app.port, '/opt/x/y')).body).toBe('optional');
      const counts = routeCounts((await scrape(app.metricsPort)).body);
      // `/reg+ion/:id` cannot be told from the text it matched: no route rather than `/reggion/:id`.
      expect(counts['(none)']).toBe(6);
      expect(counts['/opt/:a/:b?']).toBe(2);
      expect(Object.keys(counts).filter((route) => route.includes('ion'))).toEqual([]);
    }, 60_000);
  });

  it('MON_NORMALIZE_PATHS: a route longer than 128 characters is _OTHER, not cut short', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_NORMALIZE_PATHS: '1' } });
    // 31-character segments: just short of the rule that makes 32-character tokens `:id`.
    const segment = (i: number, j: number): string => `${String(i).padStart(4, '0')}${String(j).padStart(4, '0')}-${'x'.repeat(22)}`;
    const paths = Array.from({ length: 600 }, (_, i) => `/${Array.from({ length: 400 }, (_, j) => segment(i, j)).join('/')}`);
    await sendAll(app.port, paths);
    await request(app.port, '/short/route');
    const text = (await scrape(app.metricsPort)).body;
    expect(routeValues(text)).toEqual(new Set(['_OTHER', '/short/route']));
    expect(sumSamples(text, 'http_server_requests_total', { http_route: '_OTHER' })).toBe(600);
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024);
    expect(app.stderr().split('\n').filter((l) => l.includes('MON_ROUTE_TOO_LONG'))).toHaveLength(1);
  }, 60_000);
});

/**
 * Fills an app (plain-server.mjs with MON_NORMALIZE_PATHS=1) up to its series caps with the longest
 * lines there can be: every route at the length bound, made of the one character (a backslash) that
 * escaping doubles, the longest known method, 5xx statuses (which add error_type), and enough
 * (route, status) pairs to fill the 2000-series cap and its overflow.
 */
async function fillToCaps(port: number): Promise<void> {
  const route = (i: number): string => `/${String(i).padStart(3, '0')}${'\\'.repeat(124)}`;
  const paths: string[] = [];
  for (let i = 0; i < 510; i++) for (let status = 500; status < 505; status++) paths.push(`${route(i)}?status=${status}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let next = 0;
  const send = (path: string): Promise<void> =>
    new Promise((resolve) => {
      http
        .request({ host: '127.0.0.1', port, path, method: 'OPTIONS', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', () => resolve())
        .end();
    });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < paths.length) await send(paths[next++]!);
    }),
  );
  agent.destroy();
}

/** The most bytes /metrics can reach with the default caps (measured: 19.25 MB; docs/security.md states it). */
const MAX_EXPOSITION_BYTES = 20 * 1024 * 1024;
/** Series of outgoing calls kept (then one overflow series). */
const MAX_CLIENT_SERIES = 1000;
/** The most bytes /metrics can reach with both the server and the client side at their caps (README states it). */
const MAX_TOTAL_EXPOSITION_BYTES = 27 * 1024 * 1024;

describe('the exposition at the series caps', () => {
  it('stays under 20 MB: 500 routes of 128 characters that all need escaping, 2000 series and the overflow', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_NORMALIZE_PATHS: '1' } });
    await fillToCaps(app.port);
    const text = (await scrape(app.metricsPort)).body;
    const openMetrics = (await scrape(app.metricsPort, 'application/openmetrics-text;version=1.0.0')).body;
    const series = text.split('\n').filter((l) => l.startsWith('http_server_requests_total{')).length;
    const longest = Math.max(...[...routeValues(text)].map((r) => r.length));
    console.log(`at the caps: ${series} request series, text ${Buffer.byteLength(text)} B, OpenMetrics ${Buffer.byteLength(openMetrics)} B, longest escaped route ${longest}`);
    expect(series).toBe(2001); // the cap, and the overflow series
    expect(text).toMatch(/^http_server_requests_total\{otel_metric_overflow="true"\} \d+$/m);
    expect(longest).toBe(2 * 124 + 4); // 128 characters, the backslashes escaped
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_EXPOSITION_BYTES);
    expect(Buffer.byteLength(openMetrics)).toBeLessThan(MAX_EXPOSITION_BYTES);
  }, 120_000);

  // Issue 24: the client side at its caps then (100 hosts of 253-character names in 2000 series)
  // made 19.6 MB more, unstated; server_address is now at most 128 characters and the client side
  // 1000 series. Both sides filled: what the README's ceiling states.
  it('stays under the stated ceiling with the outgoing-call series at their caps too', async () => {
    const upstream = http.createServer((req, res) => {
      res.statusCode = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('code')) || 200;
      res.end();
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    try {
      app = await spawnApp(fixture('http-client.mjs'), { env: { MON_NORMALIZE_PATHS: '1' } });
      await fillToCaps(app.port);
      // The most hosts (MON_MAX_CLIENT_HOSTS) with the longest names kept, each answering 11
      // registered 4xx statuses (which name an error_type too): past the series cap.
      const statuses = Array.from({ length: 11 }, (_, i) => 400 + i);
      const port = (upstream.address() as AddressInfo).port;
      const reply = JSON.parse((await request(app.port, `/fanout?n=100&length=128&port=${port}&statuses=${statuses.join(',')}&method=OPTIONS`)).body);
      expect(reply).toEqual({ ok: 1100 });
      const text = (await scrape(app.metricsPort)).body;
      const openMetrics = (await scrape(app.metricsPort, 'application/openmetrics-text;version=1.0.0')).body;
      const serverSeries = text.split('\n').filter((l) => l.startsWith('http_server_requests_total{')).length;
      const clientSeries = text.split('\n').filter((l) => l.startsWith('http_client_request_duration_seconds_count{')).length;
      const clientBytes = text.split('\n').filter((l) => l.startsWith('http_client_')).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
      console.log(
        `both sides at the caps: ${serverSeries} server and ${clientSeries} client series, text ${Buffer.byteLength(text)} B (client lines ${clientBytes} B), OpenMetrics ${Buffer.byteLength(openMetrics)} B`,
      );
      expect(serverSeries).toBe(2001);
      expect(clientSeries).toBe(MAX_CLIENT_SERIES + 1); // the cap, and the overflow series
      expect(Buffer.byteLength(text)).toBeLessThan(MAX_TOTAL_EXPOSITION_BYTES);
      expect(Buffer.byteLength(openMetrics)).toBeLessThan(MAX_TOTAL_EXPOSITION_BYTES);
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  }, 180_000);

  it.skipIf(!existsSync(CHROMIUM))('the live page keeps up with it in a real browser, within a bounded heap', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_NORMALIZE_PATHS: '1' } });
    await fillToCaps(app.port);
    const userDataDir = mkdtempSync(path.join(tmpdir(), 'mon-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      await scrape(app.metricsPort); // the endpoint opens after the app's start-up
      await page.goto(`http://127.0.0.1:${app.metricsPort}/`);
      // Five polls of the whole exposition (one every 2 s after each answer).
      const polls = { count: 0 };
      page.on('response', (response) => {
        if (response.url().includes('/metrics')) polls.count++;
      });
      const deadline = Date.now() + 60_000;
      while (polls.count < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(polls.count).toBeGreaterThanOrEqual(5);
      // Still live (the last poll rendered less than three intervals ago), with the app's figures.
      await page.waitForFunction(
        () => document.getElementById('live')?.className === 'ok' && /\d requests/.test(document.getElementById('facts')?.textContent ?? ''),
        null,
        { timeout: 30_000 },
      );
      const cdp = await context.newCDPSession(page);
      await cdp.send('HeapProfiler.collectGarbage');
      const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize;
      console.log(`live page heap after ${polls.count} polls of the capped exposition: ${(heap / 1048576).toFixed(0)} MB`);
      expect(problems).toEqual([]);
      // The probe's 174 MB exposition took the page to 3.4 GB. At the caps: 17 MB measured (52 MB
      // before label strings were sliced whole and shared); 100 MB leaves room.
      expect(heap).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
