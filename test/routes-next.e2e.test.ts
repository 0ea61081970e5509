// Next.js: `next build` + `next start` of a small app (pages router, app router, route handlers),
// unmodified, under --import @mon/register. The route is the one Next writes, never the raw path.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixture, freePort, request, root, routeCounts, scrape, sleep, spawnApp, type App } from './helpers.js';

const nextBin = path.join(root, 'node_modules/next/dist/bin/next');
const env = { NEXT_TELEMETRY_DISABLED: '1' };
let dir: string;
let app: App | undefined;

beforeAll(() => {
  // Inside the repo (.scratch/ is ignored by git) so Next and `--import @mon/register` resolve
  // from the root node_modules; removed afterwards, nothing cached between runs.
  mkdirSync(path.join(root, '.scratch'), { recursive: true });
  dir = mkdtempSync(path.join(root, '.scratch', 'next-app-'));
  cpSync(fixture('next-app'), dir, { recursive: true });
  const build = spawnSync(process.execPath, [nextBin, 'build'], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 });
  if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('next start', () => {
  it('pages, app pages, API routes and route handlers get the template; 404s and static files none', async () => {
    const port = await freePort();
    app = await spawnApp(nextBin, { args: ['start', '-p', String(port), '-H', '127.0.0.1'], cwd: dir, env, waitForListening: false });
    // Ready once the public file is served; a probe answered before that (a 404 while Next is
    // still starting, seen on a loaded machine) is a request like any other, and counted below.
    const deadline = Date.now() + 30_000;
    const early: Record<string, number> = {};
    for (;;) {
      const status = await request(port, '/hello.txt').then((r) => r.status, () => 0);
      if (status === 200) break;
      if (status !== 0) early[`(none) ${status}`] = (early[`(none) ${status}`] ?? 0) + 1;
      if (Date.now() > deadline || app.child.exitCode !== null) throw new Error(`next start did not come up:\n${app.stdout()}\n${app.stderr()}`);
      await sleep(100);
    }
    expect((await request(port, '/users/1')).body).toContain('user <!-- -->1');
    await request(port, '/users/2?tab=posts');
    expect((await request(port, '/api/items/3')).body).toBe('{"item":"3"}');
    const post = await request(port, '/posts/hello');
    expect(post.body).toContain('post <!-- -->hello');
    expect((await request(port, '/api/things/4')).body).toBe('{"thing":"4"}');
    // A page whose getServerSideProps throws: Next renders its error page, the route stays.
    expect((await request(port, '/boom/5')).status).toBe(500);
    expect((await request(port, '/api/fail/6')).status).toBe(500);
    expect((await request(port, '/nope/7')).status).toBe(404);
    expect((await request(port, '/_next/static/missing.js')).status).toBe(404);
    // A real built asset, and a public file (the readiness probe above fetched it once already).
    const chunk = /\/_next\/static\/[^"]+\.js/.exec(post.body)?.[0];
    expect(chunk).toBeDefined();
    expect((await request(port, chunk!)).status).toBe(200);
    expect((await request(port, '/hello.txt')).status).toBe(200);

    // Readiness probes refused before Next listened never reached a server: one was answered 200.
    const expected: Record<string, number> = {
      '/users/[id] 200': 2,
      '/api/items/[id] 200': 1,
      '/posts/[slug] 200': 1,
      '/api/things/[id] 200': 1,
      '/boom/[id] 500': 1,
      '/api/fail/[id] 500': 1,
      '(none) 404': 2,
      '(none) 200': 3,
    };
    for (const [key, n] of Object.entries(early)) expected[key] = (expected[key] ?? 0) + n;
    expect(routeCounts((await scrape(app.metricsPort)).body, true)).toEqual(expected);
    expect(app.stderr().split('\n').filter((line) => line.startsWith('mon: '))).toEqual([]);
  });
});
