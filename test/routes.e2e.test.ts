// http.route from the frameworks, with the one --import flag and no code change; nothing else.
import { Agent, request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { example, fixture, request, scrape, spawnApp, sumSamples, type App } from './helpers.js';
import { promtoolCheck, skipWithout } from './prometheus.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** route -> total requests, from http_server_requests_total. */
async function routes(metricsPort: number): Promise<Record<string, number>> {
  const text = (await scrape(metricsPort)).body;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^http_server_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const route = /http_route="((?:[^"\\]|\\.)*)"/.exec(m[1]!)?.[1] ?? '(none)';
    out[route] = (out[route] ?? 0) + Number(m[2]);
  }
  return out;
}

describe.each(['express', 'express4'])('%s', (express) => {
  it('nested routers, mounted sub-apps, app.all and regex routes give their templates', async () => {
    app = await spawnApp(fixture('express-routes.cjs'), { env: { EXPRESS: express } });
    await request(app.port, '/api/users/42');
    await request(app.port, '/api/users/43');
    // Express matches mount paths case-insensitively: a client's spelling is not a new route.
    await request(app.port, '/API/users/44');
    await request(app.port, '/api/users/42/items/7');
    await request(app.port, '/admin/stats/2024-01-01');
    await request(app.port, '/any', { method: 'POST' });
    await request(app.port, '/any', { method: 'DELETE' });
    await request(app.port, '/files/a.txt');
    await request(app.port, '/boom');
    for (let i = 0; i < 5; i++) await request(app.port, `/scanner/${i}/wp-login.php`);
    expect(await routes(app.metricsPort)).toEqual({
      '/api/users/:id': 3,
      '/api/users/:id/items/:item': 1,
      '/admin/stats/:day': 1,
      '/any': 2,
      '/^\\\\/files\\\\/.+\\\\.txt$/': 1,
      '/boom': 1,
      // Unmatched paths (404 scanners) get no route, so they create no new series.
      '(none)': 5,
    });
  });
});

describe.each(['fastify', 'fastify4'])('%s', (fastify) => {
  it('the route url, with the plugin prefix', async () => {
    app = await spawnApp(fixture('fastify-routes.mjs'), { env: { FASTIFY: fastify } });
    await request(app.port, '/api/users/1');
    await request(app.port, '/api/users/2');
    await request(app.port, '/api/users/2/orders', { method: 'POST' });
    await request(app.port, '/');
    await request(app.port, '/nope/123');
    // Answered by a hook, or by schema validation, before the route's handler.
    expect((await request(app.port, '/api/users/3', { headers: { 'x-deny': '1' } })).status).toBe(401);
    expect((await request(app.port, '/api/items/7', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(400);
    expect(await routes(app.metricsPort)).toEqual({
      '/api/users/:id': 3,
      '/api/users/:id/orders': 1,
      '/api/items/:id': 1,
      '/': 1,
      '(none)': 1,
    });
    const text = (await scrape(app.metricsPort)).body;
    expect(sumSamples(text, 'http_server_requests_total', { http_route: '/api/users/:id/orders', http_response_status_code: '201' })).toBe(1);
    expect(sumSamples(text, 'http_server_requests_total', { http_route: '/api/users/:id', http_response_status_code: '401' })).toBe(1);
    expect(sumSamples(text, 'http_server_requests_total', { http_route: '/api/items/:id', http_response_status_code: '400' })).toBe(1);
    // Fastify 4 warns about deprecated request fields if they are touched; mon touches none.
    expect(app.stderr()).toBe('');
  });
});

describe('the fastify example', () => {
  it('reports its routes', async () => {
    app = await spawnApp(example('fastify/server.mjs'));
    await request(app.port, '/api/orders/9/items');
    expect(await routes(app.metricsPort)).toEqual({ '/api/orders/:id/items': 1 });
  });
});

describe('plain servers', () => {
  it('MON_ROUTE_PATTERNS names matching paths; others get no route', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_ROUTE_PATTERNS: '/users/:id,/orders/:id/items,/static/*' } });
    for (const path of ['/users/1', '/users/abc?x=1', '/orders/5/items', '/static/css/a.css', '/other/1']) await request(app.port, path);
    expect(await routes(app.metricsPort)).toEqual({ '/users/:id': 2, '/orders/:id/items': 1, '/static/*': 1, '(none)': 1 });
  });

  it('MON_NORMALIZE_PATHS turns numeric, UUID and long hex segments into :id', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_NORMALIZE_PATHS: '1' } });
    for (const path of ['/users/1', '/users/22', '/users/0b7e4a52-7b1c-4a53-9b66-d1c5c8f0e0aa/avatar', '/commits/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b']) {
      await request(app.port, path);
    }
    expect(await routes(app.metricsPort)).toEqual({ '/users/:id': 2, '/users/:id/avatar': 1, '/commits/:id': 1 });
  });

  it('MON_IGNORE_PATHS leaves health checks out of the metrics (exact, prefix, glob)', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), { env: { MON_IGNORE_PATHS: '/healthz,/ready*,/static/**/*.map' } });
    for (const path of ['/healthz', '/healthz?full=1', '/readyz', '/ready/deep', '/static/a/b/c.js.map', '/static/app.js.map', '/work', '/healthz/extra']) {
      await request(app.port, path);
    }
    const text = (await scrape(app.metricsPort)).body;
    expect(sumSamples(text, 'http_server_requests_total')).toBe(2);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
  });
});

describe('the cardinality guard', () => {
  it('100 000 random paths, 1 000 requests with unknown or made-up methods, and odd status codes stay bounded', async () => {
    app = await spawnApp(fixture('plain-server.mjs'), {
      env: { MON_NORMALIZE_PATHS: '1', MON_MAX_ROUTES: '1000' },
      nodeArgs: ['--expose-gc', '--import', '@mon/register'],
    });
    // What stays on the JS heap after a full GC: RSS would measure V8's young generation, which
    // Node 22+ sizes larger than 20 did, not what mon keeps.
    // The least of three readings: garbage made between the GC and the reading (a live-page history
    // sample, the sockets closing) only adds, and once made CI read 18.5 MB where 4.2 is usual.
    const retained = async (): Promise<number> => {
      let least = Infinity;
      for (let i = 0; i < 3; i++) {
        await request(app!.port, '/gc');
        least = Math.min(least, sumSamples((await scrape(app!.metricsPort)).body, 'v8js_memory_heap_used_bytes'));
      }
      return least;
    };
    const heapBefore = await retained();
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const send = (path: string, method = 'GET'): Promise<void> =>
      new Promise((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port: app!.port, path, method, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      });
    const random = (): string => Math.random().toString(36).slice(2, 10);
    let next = 0;
    const total = 100_000;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        // Methods Node's parser accepts but the conventions do not know, and made-up ones (which
        // Node answers with 400 before any handler runs).
        const method = i % 100 === 0 ? ['PROPFIND', 'MKCOL', 'PURGE', `X${random().toUpperCase()}`][i % 4]! : 'GET';
        // 1xx are informational: the client would wait for a final status that never comes.
        // Half scanner noise (a new path each time), half a real app: 1 000 routes that recur with
        // a few statuses each, which is more (route, status) pairs than the series limit.
        const path = i % 2 === 0 ? `/${random()}/${random()}/${i}` : `/area${i % 1000}/item/${i}`;
        const status = i % 2 === 0 ? 200 + ((i / 2) % 800) : 200 + (i % 7);
        await send(`${path}?status=${status}`, method);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    agent.destroy();

    const text = (await scrape(app.metricsPort)).body;
    // Every request Node handed to the app was counted (made-up methods get a 400 from Node's
    // parser before any server code runs, so they are not requests at all).
    expect(sumSamples(text, 'http_server_requests_total')).toBeGreaterThanOrEqual(total - total / 100);
    const series = (name: string): number => text.split('\n').filter((l) => l.startsWith(`${name}{`)).length;
    // Routes: at most MON_MAX_ROUTES plus _OTHER; series: at most the limit plus one overflow series.
    const routeValues = new Set([...text.matchAll(/http_route="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]));
    expect(routeValues.size).toBeLessThanOrEqual(1001);
    expect(routeValues).toContain('_OTHER');
    expect(series('http_server_requests_total')).toBeLessThanOrEqual(2001);
    expect(series('http_server_request_duration_seconds_count')).toBeLessThanOrEqual(2001);
    expect(text).toMatch(/^http_server_requests_total\{otel_metric_overflow="true"\} \d+$/m);
    const warnings = app.stderr().split('\n').filter((l) => l.startsWith('mon: '));
    expect(warnings.filter((l) => l.includes('MON_TOO_MANY_SERIES'))).toHaveLength(1);
    expect(warnings.filter((l) => l.includes('MON_TOO_MANY_ROUTES'))).toHaveLength(1);
    const methods = new Set([...text.matchAll(/http_request_method="([^"]*)"/g)].map((m) => m[1]));
    expect([...methods].every((m) => ['GET', '_OTHER'].includes(m!))).toBe(true);
    const heapAfter = await retained();
    console.log(`cardinality test: JS heap retained grew ${((heapAfter - heapBefore) / 1048576).toFixed(1)} MB over ${total} requests`);
    // Routes, series and their histograms at the caps (their exponential buckets too: at most 160
    // doubles each, 3.4 MB for 2000 series), and the live page's history: a few MB, not a function
    // of the paths sent (the history kept 43 MB here before it summed what it keeps).
    expect(heapAfter - heapBefore).toBeLessThan(16 * 1024 * 1024);
    if (!skipWithout('promtool')) expect(promtoolCheck(text).output).toBe('');
  }, 180_000);
});
