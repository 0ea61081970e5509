// Fastify: what the app sees of itself is unchanged on Fastify 5 (and, on Fastify 4, changed only
// as the README says); a hook that cannot be added costs one warning, never the app.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, freePort, request, root, routeCounts, scrape, sleep, spawnApp, type App } from './helpers.js';

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

/** The fixture's view of itself (fastify-introspection.mjs), bare or under `--import @mon/register`. */
async function introspect(fastify: string, underMon: boolean): Promise<Record<string, unknown>> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [...(underMon ? ['--import', '@mon/register'] : []), fixture('fastify-introspection.mjs')],
    { cwd: root, env: { ...process.env, FASTIFY: fastify, OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) }, timeout: 30_000 },
  );
  expect(stderr).toBe('');
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('what a Fastify app sees of itself (Fastify\'s own hooks and pretty-print tests check these)', () => {
  it('Fastify 5: hook counts, printRoutes and printPlugins are as without mon', async () => {
    const bare = await introspect('fastify', false);
    expect(bare.onRequestHooks).toEqual({ root: 0, child: 1 });
    expect(await introspect('fastify', true)).toEqual(bare);
  });

  it('Fastify 4: one onRequest hook per instance, as the README says, and nothing else', async () => {
    const bare = await introspect('fastify4', false);
    const mon = await introspect('fastify4', true);
    expect(mon.onRequestHooks).toEqual({ root: 1, child: 2 });
    expect(mon.routes).toBe(bare.routes);
    // mon's hook ahead of the app's own, on every route.
    expect(mon.routesWithHooks).toBe(
      [
        '└── /',
        '    ├── outer (GET)',
        '    │   • (onRequest) ["onRequest()"]',
        '    │   outer (HEAD)',
        '    │   • (onRequest) ["onRequest()"]',
        '    │   • (onSend) ["headRouteOnSendHandler()"]',
        '    └── inner/',
        '        └── :id (GET)',
        '            • (onRequest) ["onRequest()","anonymous()"]',
        '            :id (HEAD)',
        '            • (onRequest) ["onRequest()","anonymous()"]',
        '            • (onSend) ["headRouteOnSendHandler()"]',
        '',
      ].join('\n'),
    );
    expect(String(bare.routesWithHooks)).not.toContain('onRequest()');
    // One more plugin-queue step per instance (addHook queues the hook).
    expect(mon.emptyPlugins).toBe('root\n├── bound _after\n└── bound _after\n');
    expect(bare.emptyPlugins).toBe('root\n└── bound _after\n');
  });
});
