// h3 v2: the route from the `h3.request` tracing channel, published once h3's tracing plugin is
// registered (as Nitro does when tracing is on); without it, no route.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, routeCounts, scrape, spawnApp, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function traffic(port: number): Promise<void> {
  expect((await request(port, '/users/1')).body).toBe('user 1');
  await request(port, '/users/2');
  expect((await request(port, '/users/3/orders', { method: 'POST' })).status).toBe(201);
  expect((await request(port, '/boom/4')).status).toBe(500);
  await request(port, '/files/a/b.txt');
  expect((await request(port, '/nope/5')).status).toBe(404);
}

describe('h3', () => {
  it('with tracingPlugin: the route template, 404s none', async () => {
    app = await spawnApp(fixture('h3-routes.mjs'));
    await traffic(app.port);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '/users/:id 200': 2,
      '/users/:id/orders 201': 1,
      '/boom/:id 500': 1,
      '/files/** 200': 1,
      '(none) 404': 1,
    });
    expect(app.stderr()).toBe('');
  });

  it('without the plugin h3 publishes nothing: no route, never the raw path', async () => {
    app = await spawnApp(fixture('h3-routes.mjs'), { env: { TRACING: '0' } });
    await traffic(app.port);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '(none) 200': 3,
      '(none) 201': 1,
      '(none) 500': 1,
      '(none) 404': 1,
    });
  });
});
