// The preload must not change how the app behaves: exit, signals, busy ports, bad config.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { example, expectNoEndpoint, fixture, freePort, request, root, scrape, sleep, spawnApp, waitForStderr, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const monLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('mon: '));

describe('a short script', () => {
  // Not a benchmark: how much later it exits is start-up cost, measured by test/bench/startup.mjs
  // (`node <preload> -e 0`). This asserts the behaviour: the preload never holds the process open
  // (an un-unref'd server or timer would run into the spawn timeout and be killed).
  it('exits by itself, with its output and exit code', async () => {
    const env = { ...process.env, OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) };
    const result = spawnSync(process.execPath, ['--import', '@mon/register', '-e', 'console.log(1)'], { cwd: root, env, encoding: 'utf8', timeout: 10_000 });
    expect(result.signal, 'killed by the timeout: something kept it alive').toBeNull();
    expect(result.stdout).toBe('1\n');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('works from NODE_OPTIONS too', () => {
    // Until mon is first needed, the preload's trace is the global MeterProvider it registered.
    const result = spawnSync(process.execPath, ['-e', 'console.log(typeof globalThis[Symbol.for("opentelemetry.js.api.1")]?.metrics?.getMeter)'], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '--import @mon/register', OTEL_METRICS_EXPORTER: 'none' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.stdout).toBe('function\n');
    expect(result.status).toBe(0);
  });
});

describe('a bin run through its node_modules/.bin symlink (as `npx tool` and `tool` in npm scripts do)', () => {
  it('is named for its own package, as when run by its real path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mon-bin-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0' }));
      mkdirSync(path.join(dir, 'node_modules/tool'), { recursive: true });
      writeFileSync(path.join(dir, 'node_modules/tool/package.json'), JSON.stringify({ name: 'tool', version: '2.0.0' }));
      copyFileSync(fixture('plain-server.mjs'), path.join(dir, 'node_modules/tool/server.mjs'));
      mkdirSync(path.join(dir, 'node_modules/.bin'));
      symlinkSync('../tool/server.mjs', path.join(dir, 'node_modules/.bin/tool'));
      const names: string[] = [];
      for (const script of ['node_modules/.bin/tool', 'node_modules/tool/server.mjs']) {
        app = await spawnApp(path.join(dir, script));
        names.push(/^target_info\{[^}]*service_name="([^"]*)"/m.exec((await scrape(app.metricsPort)).body)?.[1] ?? '');
        await app.stop();
        app = undefined;
      }
      expect(names).toEqual(['tool', 'tool']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('signals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s ends an app that has no handler, as it would without mon', async (signal) => {
    app = await spawnApp(example('http-esm/server.mjs'));
    await request(app.port, '/');
    const started = Date.now();
    app.child.kill(signal);
    expect(await app.exited).toBe(signal);
    // The bound catches a flush or a handle that holds the exit (seconds), with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('leaves an app with its own SIGTERM handler in control', async () => {
    // Serving 1.5 s after the signal, so a loaded machine's pause cannot end it before the request.
    app = await spawnApp(fixture('own-sigterm.mjs'), { env: { CLEANUP_MS: '1500' } });
    app.child.kill('SIGTERM');
    await sleep(100);
    // Still serving after the signal: mon did not exit the process behind the app's back.
    expect((await request(app.port, '/')).body).toBe('ok\n');
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toContain('cleanup done');
  });
});

describe('a busy metrics port', () => {
  it('costs one warning line naming the cause and the fix; the app keeps serving', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      app = await spawnApp(example('http-esm/server.mjs'), { env: { OTEL_EXPORTER_PROMETHEUS_PORT: String(busy) } });
      for (let i = 0; i < 3; i++) expect((await request(app.port, '/')).status).toBe(200);
      await waitForStderr(app, /^mon: /m);
      for (let i = 0; i < 3; i++) expect((await request(app.port, '/')).status).toBe(200);
      await sleep(100);
      const lines = monLines(app.stderr());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`127.0.0.1:${busy}`);
      expect(lines[0]).toContain('EADDRINUSE');
      expect(lines[0]).toContain('OTEL_EXPORTER_PROMETHEUS_PORT');
      expect(app.stderr().trim().split('\n')).toHaveLength(1);
    } finally {
      blocker.close();
    }
  });

  it('lets a child process that inherits NODE_OPTIONS run, with at most one warning', async () => {
    const metricsPort = await freePort();
    app = await spawnApp(fixture('spawns-child.mjs'), {
      nodeArgs: [],
      env: { NODE_OPTIONS: '--import @mon/register', OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort) },
    });
    expect(app.stdout()).toContain('child served');
    expect(app.stdout()).toContain('child exited 0');
    // The child, done in well under START_UP_GRACE_MS, usually ends before its endpoint would open
    // and says nothing; on a slow machine it may outlive it, and then loses the port to the parent.
    const lines = monLines(app.stderr());
    expect(lines.length).toBeLessThanOrEqual(1);
    for (const line of lines) expect(line).toContain('EADDRINUSE');
    // The parent, first to start, owns the endpoint.
    expect((await scrape(metricsPort)).status).toBe(200);
  });
});

describe('configuration', () => {
  it('a bad value costs one line naming the variable, the value and what is used instead', async () => {
    app = await spawnApp(example('http-esm/server.mjs'), { env: { OTEL_METRIC_EXPORT_INTERVAL: 'soon' } });
    expect((await request(app.port, '/')).status).toBe(200);
    expect(monLines(app.stderr())).toEqual([
      'mon: OTEL_METRIC_EXPORT_INTERVAL="soon" is not a whole number of milliseconds (1-2147483647); using 60000. [MON_BAD_ENV]',
    ]);
    expect((await scrape(app.metricsPort)).status).toBe(200);
  });

  it('OTEL_SDK_DISABLED=true starts nothing and binds nothing', async () => {
    app = await spawnApp(example('http-esm/server.mjs'), { env: { OTEL_SDK_DISABLED: 'true' } });
    expect((await request(app.port, '/')).status).toBe(200);
    await expectNoEndpoint(app.metricsPort);
    expect(app.stderr()).toBe('');
  });

  it('OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES reach target_info', async () => {
    app = await spawnApp(example('http-cjs/server.cjs'), {
      env: { OTEL_SERVICE_NAME: 'checkout', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod' },
    });
    const text = (await scrape(app.metricsPort)).body;
    expect(text).toMatch(/target_info\{[^}]*service_name="checkout"/);
    expect(text).toMatch(/target_info\{[^}]*deployment_environment_name="prod"/);
  });
});

describe('a finished process', () => {
  it('exits when its server closes, with the metrics endpoint still up', async () => {
    const script = `
      const http = require('node:http');
      const s = http.createServer((q, r) => r.end('x')).listen(0, () => {
        http.get('http://127.0.0.1:' + s.address().port, (r) => { r.resume(); r.on('end', () => s.close()); });
      });`;
    const child = spawn(process.execPath, ['--import', '@mon/register', '-e', script], {
      cwd: root,
      env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) },
    });
    const started = Date.now();
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
