// Fastify: a hook that cannot be added costs one warning, never the app.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, routeCounts, scrape, sleep, spawnApp, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('fastify', () => {
  it('an instance whose addHook throws: one warning, the app runs, other instances keep their routes', async () => {
    app = await spawnApp(fixture('fastify-hook-fault.mjs'));
    expect((await request(app.port, '/users/1')).body).toBe('user');
    await request(app.port, '/users/2');
    // The exception would have surfaced on the next tick as an uncaught one.
    await sleep(100);
    expect(app.child.exitCode).toBe(null);
    expect(routeCounts((await scrape(app.metricsPort)).body)).toEqual({ '/users/:id': 2 });
    const lines = app.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mon: could not add mon's route hook to a Fastify instance \(hooks are sealed\); .* \[MON_FRAMEWORK_CHANGED\]$/);
  });
});
