// Express: the full route template however the response ends (error handlers, later middleware,
// next('route'), sub-apps), and json-server 0.17, a real Express 4 app answered that way throughout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, freePort, request, root, routeCounts, scrape, sleep, spawnApp, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe.each(['express', 'express4'])('%s', (express) => {
  it('keeps the mount path when the answer comes from outside the matching router', async () => {
    app = await spawnApp(fixture('express-answered-elsewhere.cjs'), { env: { EXPRESS: express } });
    expect((await request(app.port, '/api/v1/boom/1')).status).toBe(500);
    expect((await request(app.port, '/api/v1/boom/2')).status).toBe(500);
    expect((await request(app.port, '/api/v1/later/7')).body).toBe('later 7');
    expect((await request(app.port, '/api/v1/skip/3')).body).toBe('skipped');
    expect((await request(app.port, '/api/v1/orders/5/items/9')).status).toBe(500);
    expect((await request(app.port, '/admin/report/2024')).body).toBe('report');
    expect((await request(app.port, '/nothing/here')).body).toBe('not found');
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '/api/v1/boom/:id 500': 2,
      '/api/v1/later/:id 200': 1,
      '/api/v1/skip/:name 200': 1,
      // A parameter in a mount path arrives as its value; the template is found again in the app's routers.
      '/api/v1/orders/:order/items/:item 500': 1,
      '/admin/report/:day 200': 1,
      // A catch-all route answering 404 is the app's not-found page: no route.
      '(none) 404': 1,
    });
    expect(app.stderr()).toBe('');
  });

  it('a route matched against the whole URL put back inside a mount: the mount is not added again', async () => {
    app = await spawnApp(fixture('express-answered-elsewhere.cjs'), { env: { EXPRESS: express } });
    expect((await request(app.port, '/-/web/data/7')).body).toBe('data');
    expect((await request(app.port, '/-/web/data/8?x=1')).body).toBe('data');
    // Not `/-/web/-/web/data/:item`, a path that does not exist.
    expect(routeCounts((await scrape(app.metricsPort)).body)).toEqual({ '/-/web/data/:item': 2 });
  });

  it('leaves req.route as the app would see it without mon', async () => {
    app = await spawnApp(fixture('express-answered-elsewhere.cjs'), { env: { EXPRESS: express } });
    expect(JSON.parse((await request(app.port, '/api/v1/inspect')).body)).toEqual({ own: true, listed: true, path: '/inspect', spread: true });
  });

  it('an app behind a listener of its own: found at its first route, full templates from the next request on', async () => {
    app = await spawnApp(fixture('express-answered-elsewhere.cjs'), { env: { EXPRESS: express, WRAPPED: '1' } });
    for (let i = 0; i < 3; i++) await request(app.port, `/api/v1/boom/${i}`);
    expect(routeCounts((await scrape(app.metricsPort)).body)).toEqual({ '/boom/:id': 1, '/api/v1/boom/:id': 2 });
  });
});

describe('json-server 0.17 (Express 4, every answer rendered after next())', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reports /posts and /posts/:id, not / and /:id', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mon-json-server-'));
    const db = path.join(dir, 'db.json');
    writeFileSync(db, JSON.stringify({ posts: [{ id: 1, title: 'a' }], comments: [{ id: 1, postId: 1, body: 'b' }], profile: { name: 'x' } }));
    const port = await freePort();
    app = await spawnApp(path.join(root, 'node_modules/json-server/lib/cli/bin.js'), {
      args: [db, '--port', String(port), '--host', '127.0.0.1', '--quiet'],
      waitForListening: false,
    });
    const deadline = Date.now() + 15_000;
    while (!(await request(port, '/db').then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error(`json-server did not start: ${app.stderr()}`);
      await sleep(50);
    }
    await request(port, '/posts');
    await request(port, '/posts/1');
    await request(port, '/posts/1');
    await request(port, '/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"c"}' });
    await request(port, '/posts/99');
    await request(port, '/posts/1/comments');
    await request(port, '/profile');
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual({
      '/db 200': 1,
      '/posts 200': 1,
      '/posts 201': 1,
      '/posts/:id 200': 2,
      '/posts/:id 404': 1,
      // json-server rewrites /posts/1/comments to /comments?postId=1 and routes it again: the
      // route that answered is the comments list.
      '/comments 200': 1,
      '/profile 200': 1,
    });
  });
});

describe('verdaccio 6.8 (Express 4, run unmodified under NODE_OPTIONS)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('labels its npm and web API routes as written, the web API without its mount path twice', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mon-verdaccio-'));
    const config = path.join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `storage: ${path.join(dir, 'storage')}`,
        'auth:',
        '  htpasswd:',
        `    file: ${path.join(dir, 'htpasswd')}`,
        'uplinks: {}',
        'packages:',
        "  '**':",
        '    access: $all',
        '    publish: $authenticated',
        // JSON logs on stdout: the pretty format logs through a worker thread (worker-threads.e2e.test.ts).
        'log: { type: stdout, format: json, level: warn }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    app = await spawnApp(path.join(root, 'node_modules/verdaccio/bin/verdaccio'), {
      nodeArgs: [],
      env: { NODE_OPTIONS: '--import @mon/register' },
      args: ['--config', config, '--listen', `127.0.0.1:${port}`],
      waitForListening: false,
    });
    const deadline = Date.now() + 30_000;
    while (!(await request(port, '/-/ping').then(() => true, () => false))) {
      if (Date.now() > deadline || app.child.exitCode !== null) throw new Error(`verdaccio did not start: ${app.stderr()}`);
      await sleep(100);
    }
    expect((await request(port, '/-/verdaccio/data/packages')).status).toBe(200);
    expect((await request(port, '/-/verdaccio/data/packages')).status).toBe(200);
    expect((await request(port, '/-/verdaccio/data/search/react')).status).toBe(200);
    expect((await request(port, '/-/whoami')).status).toBe(200);
    expect((await request(port, '/-/v1/search?text=react')).status).toBe(200);
    // The path the probe saw as a label: verdaccio has no such route.
    expect((await request(port, '/-/verdaccio/-/verdaccio/data/packages')).status).toBe(404);
    const counts = routeCounts((await scrape(app.metricsPort)).body, true);
    expect(counts).toMatchObject({
      '/-/ping 200': 1,
      '/-/verdaccio/data/packages 200': 2,
      '/-/verdaccio/data/search/:anything 200': 1,
      '/-/whoami 200': 1,
      '/-/v1/search 200': 1,
    });
    expect(Object.keys(counts).filter((key) => key.includes('/-/verdaccio/-/verdaccio'))).toEqual([]);
    expect(app.stderr()).not.toContain('mon:');
  }, 60_000);
});
