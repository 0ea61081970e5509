// What the preload makes Node load: every process that inherits NODE_OPTIONS pays for it. Node
// built-ins it does not need at start-up stay unloaded; what that saves in milliseconds is measured
// in test/bench/startup.mjs, not here.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import module from 'node:module';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { START_UP_GRACE_MS } from '../packages/register/src/after-start-up.js';
import { fixture, freePort, request, root, sample, scrape, spawnApp, type App } from './helpers.js';

/** Node's modules loaded `afterMs` after the app's first line (0: at its first line). */
async function modulesLoaded(preload: boolean, afterMs = 50): Promise<string[]> {
  const print = 'console.log(JSON.stringify(process.moduleLoadList))';
  const out = spawnSync(
    process.execPath,
    // The baseline preloads an empty module file, so that the ESM loader's own modules count on both sides.
    ['--import', preload ? '@mon/register' : fixture('empty.mjs'), '-e', afterMs === 0 ? print : `setTimeout(() => ${print}, ${afterMs})`],
    {
      cwd: root,
      env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) },
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout) as string[];
}

describe('node --import @mon/register', () => {
  it('loads no node:http when it serves nothing (OTEL_METRICS_EXPORTER=none)', async () => {
    process.env.OTEL_METRICS_EXPORTER = 'none';
    try {
      expect(await modulesLoaded(true)).not.toContain('NativeModule http');
    } finally {
      delete process.env.OTEL_METRICS_EXPORTER;
    }
  });

  it("before the app's first line, loads none of what serves or reads a scrape: node:http, node:http2, node:cluster, node:v8", async () => {
    const bare = new Set(await modulesLoaded(false, 0));
    const added = (await modulesLoaded(true, 0)).filter((m) => !bare.has(m));
    expect(added.filter((m) => /^NativeModule (http|http2|_http_server|internal\/http2\/core|cluster|child_process|v8|undici)$/.test(m))).toEqual([]);
  });

  it('once the app has started, serves through node:http, and still loads neither undici (node:http ESM facade), node:crypto nor fs/promises', async () => {
    // The grace, then 3 s for the endpoint's imports on a loaded machine (they take ~0.1 s idle).
    const loaded = await modulesLoaded(true, START_UP_GRACE_MS + 3_000);
    // The endpoint itself needs node:http: the check would pass vacuously if the preload did nothing.
    expect(loaded).toContain('NativeModule http');
    expect(loaded).toContain('NativeModule v8');
    const bare = new Set(await modulesLoaded(false, START_UP_GRACE_MS + 3_000));
    const added = loaded.filter((m) => !bare.has(m));
    expect(added.filter((m) => /undici|crypto|internal\/fs\/promises/.test(m))).toEqual([]);
  });
});

/** The bundle's chunks that define the OpenTelemetry SDK's MeterProvider (not mon's stand-in). */
function sdkChunks(): string[] {
  const dir = path.join(root, 'packages/register/dist/bundle/chunks');
  return readdirSync(dir).filter((f) => f.endsWith('.js') && /[^\w]MeterProvider=class/.test(readFileSync(path.join(dir, f), 'utf8')));
}

/** Whether fixtures/record-loads.mjs sees loads in the loading thread (module.registerHooks, Node >= 22.15). */
const inThreadHooks = typeof (module as { registerHooks?: unknown }).registerHooks === 'function';

/** The module URLs a process under the preload loaded, printed at its exit (fixtures/record-loads.mjs). */
async function urlsLoaded(script: string, env: Record<string, string> = {}, cwd = root): Promise<string[]> {
  const out = spawnSync(process.execPath, ['--import', fixture('record-loads.mjs'), '--import', '@mon/register', '-e', script], {
    cwd,
    env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()), ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as string[];
}

describe('the OpenTelemetry SDK, loaded on first need', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('a short-lived process that records nothing never loads it, with Prometheus or OTLP', async () => {
    const chunks = sdkChunks();
    // The check would pass vacuously if the SDK were no longer in a chunk of its own.
    expect(chunks.length).toBeGreaterThan(0);
    const isSdk = (url: string): boolean => chunks.some((f) => url.endsWith(`/chunks/${f}`));
    for (const exporter of ['prometheus', 'otlp']) {
      const loaded = await urlsLoaded('0', { OTEL_METRICS_EXPORTER: exporter, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
      expect(loaded.some((url) => url.includes('/register/dist/bundle/index.js'))).toBe(true);
      expect(loaded.filter(isSdk)).toEqual([]);
    }
    // ... and an app's first meter does load it.
    const meter = await urlsLoaded("require('@opentelemetry/api').metrics.getMeter('t')");
    expect(meter.filter(isSdk).length).toBeGreaterThan(0);
  });

  it('a short-lived process loads no module of mon but the preload itself, with Prometheus or OTLP', async () => {
    // A folder with mon and no @opentelemetry/api (most processes), and the repository, which has one.
    const bare = mkdtempSync(path.join(tmpdir(), 'mon-startup-'));
    try {
      mkdirSync(path.join(bare, 'node_modules/@mon'), { recursive: true });
      symlinkSync(path.join(root, 'packages/register'), path.join(bare, 'node_modules/@mon/register'));
      for (const exporter of ['prometheus', 'otlp']) {
        const env = { OTEL_METRICS_EXPORTER: exporter, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` };
        // The placeholders wait for a first need (packages/register/src/first-need.ts): this process has none.
        const loaded = await urlsLoaded('0', env, bare);
        expect(loaded.filter((url) => url.includes('/register/dist/'))).toEqual([expect.stringMatching(/\/register\/dist\/bundle\/index\.js$/)]);
        // With the app's own API, also what registers through it (app-api-found.ts), and nothing else.
        const withApi = (await urlsLoaded('0', env)).filter((url) => url.includes('/register/dist/'));
        const preload = [expect.stringMatching(/\/register\/dist\/bundle\/index\.js$/), expect.stringMatching(/\/register\/dist\/bundle\/app-api-found\.js$/)];
        // Node 20 reports loads from its hooks' thread (fixtures/record-loads.mjs): one late in a
        // process this short may not arrive before it exits, so there only none is extra.
        if (inThreadHooks) expect(withApi).toEqual(preload);
        else expect(withApi).toEqual(preload.slice(0, withApi.length));
      }
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('a short-lived process that starts child processes (a CLI shelling out) never loads it either', async () => {
    const chunks = sdkChunks();
    expect(chunks.length).toBeGreaterThan(0);
    const isSdk = (url: string): boolean => chunks.some((f) => url.endsWith(`/chunks/${f}`));
    // A child without an IPC channel and one with (as a test runner's fork has): neither is a
    // cluster worker of mon's, so neither says hello. The children are `true`, not Node, so the
    // process ends well inside the second after which mon builds anyway (after-start-up.ts). It
    // exits 3 unless both children ran and exited cleanly, and 4 when it outlived the grace all the
    // same (a loaded machine: then mon builds for the timer's sake, the run proves nothing, and it
    // is tried again).
    const script = `const cp = require('child_process'); let ran = 0;
      process.on('exit', () => { process.exitCode = ran !== 2 ? 3 : performance.now() > 900 ? 4 : 0; });
      cp.spawn('true').on('exit', (code) => { ran += code === 0; cp.spawn('true', { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }).on('exit', (c) => (ran += c === 0)); });`;
    let run: ReturnType<typeof spawnSync> | undefined;
    for (let attempt = 0; attempt < 8 && (run === undefined || run.status === 4); attempt++) {
      run = spawnSync(process.execPath, ['--import', fixture('record-loads.mjs'), '--import', '@mon/register', '-e', script], {
        cwd: root,
        env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) },
        encoding: 'utf8',
        timeout: 10_000,
      });
    }
    expect(run!.stderr).toBe('');
    expect(run!.status).toBe(0);
    const loaded = JSON.parse(String(run!.stdout).trim().split('\n').at(-1)!) as string[];
    expect(loaded.filter(isSdk)).toEqual([]);
  });

  it("a server's first need loads main.js and at most two chunks, none of them @opentelemetry/api: each is compiled and linked inside the app's listen()", async () => {
    // The chunks that define @opentelemetry/api (its globals' registered symbol).
    const dir = path.join(root, 'packages/register/dist/bundle/chunks');
    const apiChunks = readdirSync(dir).filter((f) => f.endsWith('.js') && readFileSync(path.join(dir, f), 'utf8').includes('opentelemetry.js.api.'));
    expect(apiChunks.length).toBeGreaterThan(0);
    const loaded = await urlsLoaded("require('node:http').createServer().listen(0, '127.0.0.1', function () { this.close(); })");
    // Node 20 reports loads from its hooks' thread, which does not see require() of ES modules
    // (the first need's load): there the check would pass vacuously, so it is made on 22.15+.
    if (!inThreadHooks) return;
    expect(loaded).toContainEqual(expect.stringMatching(/\/register\/dist\/bundle\/main\.js$/));
    const chunks = loaded.filter((url) => url.includes('/register/dist/bundle/chunks/'));
    expect(chunks.length).toBeLessThanOrEqual(2);
    expect(chunks.filter((url) => apiChunks.some((f) => url.endsWith(`/chunks/${f}`)))).toEqual([]);
  });

  it('counts the first need itself: an outgoing call made before anything else', async () => {
    const upstream = http.createServer((req, res) => res.end('up')).listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    try {
      app = await spawnApp(fixture('first-call.cjs'), { env: { UPSTREAM_PORT: String((upstream.address() as AddressInfo).port) } });
      await request(app.port, '/');
      const text = (await scrape(app.metricsPort)).body;
      expect(sample(text, 'http_client_request_duration_seconds_count', { server_address: '127.0.0.1', http_response_status_code: '200' })).toBe(1);
      expect(sample(text, 'http_server_requests_total', { http_response_status_code: '200' })).toBe(1);
      expect(app.stderr()).toBe('');
    } finally {
      upstream.close();
    }
  });

  it("serves the instruments an app created and recorded at its top level, before anything else happened", async () => {
    app = await spawnApp(fixture('top-level-meter.cjs'));
    await request(app.port, '/');
    const text = (await scrape(app.metricsPort)).body;
    expect(sample(text, 'app_boots_total', { phase: 'top' })).toBe(2);
    expect(sample(text, 'app_boots_total', { phase: 'request' })).toBe(1);
    expect(sample(text, 'app_boot_duration_seconds_count')).toBe(1);
    expect(sample(text, 'app_boot_duration_seconds_sum')).toBe(0.25);
    expect(sample(text, 'app_config_entries')).toBe(7);
    expect(sample(text, 'app_queue_length', { queue: 'mail' })).toBe(3);
    expect(sample(text, 'http_server_requests_total', { http_response_status_code: '200' })).toBe(1);
    expect(app.stderr()).toBe('');
  });
});
