// The CommonJS way in: `node -r @mon/register` and NODE_OPTIONS="--require @mon/register", for apps
// started through a require hook (ts-node), which any --import breaks (Node then loads the main
// script through the ESM loader). It must instrument what --import does, the first request included.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, request, scrape, spawnApp, sumSamples, waitForEndpoint, type App } from './helpers.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

const dir = fixture('commonjs-app');
const tsNode = { TS_NODE_COMPILER: 'typescript5', TS_NODE_TRANSPILE_ONLY: 'true' };

/** Metric families (name and type) and the HTTP server series' label sets of a scrape. */
function shape(text: string): { families: string[]; http: string[] } {
  // GC durations appear once a process has collected garbage: not a difference between the ways in.
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].filter((m) => !m[1]!.startsWith('v8js_gc')).map((m) => `${m[1]} ${m[2]}`).sort();
  const http = [...text.matchAll(/^http_server_requests_total(\{.*\}) \S+$/gm)].map((m) => m[1]!).sort();
  return { families, http };
}

describe('-r @mon/register', () => {
  it('a plain CommonJS app: the first request counted, and the same families and HTTP series as --import', async () => {
    const required = await spawnApp(path.join(dir, 'app.js'), { nodeArgs: ['-r', '@mon/register'] });
    apps.push(required);
    // The app listens as it starts: this request comes while mon may still be starting.
    expect((await request(required.port, '/first')).body).toBe('js /first');
    const imported = await spawnApp(path.join(dir, 'app.js'), { nodeArgs: ['--import', '@mon/register'] });
    apps.push(imported);
    await request(imported.port, '/first');
    for (const app of [required, imported]) {
      await request(app.port, '/second', { method: 'POST' });
      await waitForEndpoint(app.metricsPort);
    }
    const texts = await Promise.all([required, imported].map(async (app) => (await scrape(app.metricsPort)).body));
    expect(sumSamples(texts[0]!, 'http_server_requests_total')).toBe(2);
    expect(shape(texts[0]!)).toEqual(shape(texts[1]!));
    expect(shape(texts[0]!).families.length).toBeGreaterThan(10);
    expect(required.stderr()).toBe('');
  }, 60_000);

  it('NODE_OPTIONS="--require @mon/register" with `node -r ts-node/register app.ts`', async () => {
    const app = await spawnApp(path.join(dir, 'app.ts'), {
      nodeArgs: ['-r', 'ts-node/register'],
      env: { ...tsNode, NODE_OPTIONS: '--require @mon/register' },
    });
    apps.push(app);
    expect((await request(app.port, '/users/1')).body).toBe('ts /users/1');
    await request(app.port, '/users/2');
    await waitForEndpoint(app.metricsPort);
    const text = (await scrape(app.metricsPort)).body;
    expect(sumSamples(text, 'http_server_requests_total', { http_request_method: 'GET', http_response_status_code: '200' })).toBe(2);
    expect(text).toContain('# TYPE process_cpu_time_seconds_total counter');
    expect(app.stderr()).toBe('');
  }, 60_000);
});
