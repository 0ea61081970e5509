// Koa (+ @koa/router) and hapi publish their templates nowhere a preload can read without help:
// mon finds them through Node's module-load tracing channel, which Node 20 does not have.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, routeCounts, scrape, spawnApp, type App } from './helpers.js';

// `tracing:module.require` arrived in Node 22.4.0 (nodejs/node#44340); Node 20 never got it.
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const moduleChannels = major > 22 || (major === 22 && minor >= 4);

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** What the route would be on this Node line: the template, or none on Node 20. */
const onThisLine = (counts: Record<string, number>): Record<string, number> => {
  if (moduleChannels) return counts;
  const none: Record<string, number> = {};
  for (const [key, n] of Object.entries(counts)) {
    const status = key.slice(key.lastIndexOf(' '));
    none[`(none)${status}`] = (none[`(none)${status}`] ?? 0) + n;
  }
  return none;
};

const monWarnings = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('mon: '));

describe.each(['koa-routes.mjs', 'koa-routes.cjs'])('koa with @koa/router (%s)', (script) => {
  it(moduleChannels ? 'the router template with prefixes, from ctx._matchedRoute' : 'no route on this Node line, never the raw path', async () => {
    app = await spawnApp(fixture(script));
    expect((await request(app.port, '/api/users/1')).body).toBe('user');
    await request(app.port, '/api/users/2');
    expect((await request(app.port, '/api/boom/3')).status).toBe(500);
    expect((await request(app.port, '/api/orders/4/items/5')).body).toBe('item');
    expect((await request(app.port, '/api/nope/6')).status).toBe(404);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual(
      onThisLine({
        '/api/users/:id 200': 2,
        '/api/boom/:id 500': 1,
        '/api/orders/:order/items/:item 200': 1,
        '(none) 404': 1,
      }),
    );
    expect(app.stderr()).toBe('');
  });
});

describe('hapi', () => {
  it(moduleChannels ? 'request.route.path, with the plugin prefix (ESM)' : 'no route on this Node line (ESM)', async () => {
    app = await spawnApp(fixture('hapi-routes.mjs'));
    expect((await request(app.port, '/users/1')).body).toBe('user');
    await request(app.port, '/users/2');
    expect((await request(app.port, '/boom/3')).status).toBe(500);
    expect((await request(app.port, '/api/orders/4/items', { method: 'POST' })).status).toBe(201);
    expect((await request(app.port, '/nope/5')).status).toBe(404);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual(
      onThisLine({
        '/users/{id} 200': 2,
        '/boom/{id} 500': 1,
        '/api/orders/{id}/items 201': 1,
        // hapi answers unmatched paths from its internal not-found route: no route.
        '(none) 404': 1,
      }),
    );
    expect(monWarnings(app.stderr())).toEqual([]);
  });

  it(moduleChannels ? 'request.route.path (CommonJS)' : 'no route on this Node line (CommonJS)', async () => {
    app = await spawnApp(fixture('hapi-routes.cjs'));
    await request(app.port, '/users/1');
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual(onThisLine({ '/users/{id} 200': 1 }));
  });
});
