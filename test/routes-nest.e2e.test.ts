// NestJS on both adapters: routes come from the adapter's framework (Express's req.route, Fastify's
// routeOptions.url), with Nest's global prefix and controller paths included.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, routeCounts, scrape, spawnApp, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe.each(['express', 'fastify'])('nestjs (%s adapter)', (adapter) => {
  it('global prefix + controller path + method path; errors keep the route; 404s none', async () => {
    app = await spawnApp(fixture('nest-routes.cjs'), { env: { NEST_ADAPTER: adapter } });
    expect(JSON.parse((await request(app.port, '/api/v1/users/1')).body)).toEqual({ user: '1' });
    await request(app.port, '/api/v1/users/2');
    expect((await request(app.port, '/api/v1/users/missing')).status).toBe(404);
    expect((await request(app.port, '/api/v1/users/3/orders', { method: 'POST' })).status).toBe(201);
    expect((await request(app.port, '/api/v1/users/4/boom')).status).toBe(500);
    expect((await request(app.port, '/api/v1/health')).body).toBe('ok');
    expect((await request(app.port, '/api/v1/nope/5')).status).toBe(404);
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '/api/v1/users/:id 200': 2,
      // A handler's own 404 (NotFoundException) is still its route.
      '/api/v1/users/:id 404': 1,
      '/api/v1/users/:id/orders 201': 1,
      '/api/v1/users/:id/boom 500': 1,
      '/api/v1/health 200': 1,
      '(none) 404': 1,
    });
    expect(app.stderr()).toBe('');
  });
});
