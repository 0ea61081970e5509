// Hono on @hono/node-server: no zero-code source exists (Hono keeps its route on its own Context,
// which nothing links to the node:http request, and it loads as ESM, out of reach of the module
// tracing channel). The one-line opt-in publishes it on mon:http:route; without it, no route.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, routeCounts, scrape, spawnApp, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function traffic(port: number): Promise<void> {
  expect((await request(port, '/api/users/1')).body).toBe('user 1');
  await request(port, '/api/users/2');
  expect((await request(port, '/api/users/3/orders', { method: 'POST' })).status).toBe(201);
  expect((await request(port, '/api/boom/4')).status).toBe(500);
  await request(port, '/files/a/b.txt');
  expect((await request(port, '/nope/5')).status).toBe(404);
}

describe('hono on @hono/node-server', () => {
  it('with the opt-in line: the route template (sub-app prefix included), 404s none', async () => {
    app = await spawnApp(fixture('hono-routes.mjs'));
    await traffic(app.port);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '/api/users/:id 200': 2,
      '/api/users/:id/orders 201': 1,
      '/api/boom/:id 500': 1,
      '/files/* 200': 1,
      '(none) 404': 1,
    });
    expect(app.stderr()).toBe('');
  });

  it('without it: no route, never the raw path', async () => {
    app = await spawnApp(fixture('hono-routes.mjs'), { env: { OPT_IN: '0' } });
    await traffic(app.port);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '(none) 200': 3,
      '(none) 201': 1,
      '(none) 500': 1,
      '(none) 404': 1,
    });
  });
});
