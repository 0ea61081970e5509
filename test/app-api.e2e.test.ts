// The app's own @opentelemetry/api owns the global: an app outside the repo that installs api 1.4,
// 1.8, 1.9.1 or 1.10.0 sees its custom metrics on /metrics and in OTLP, ESM and CommonJS alike.
// (The API hands the global only to callers whose minor version is not newer than the one that
// registered it, so a preload registering with its own older copy made 1.10 apps' metrics vanish.)
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { root, sample, scrape, spawnApp, request, type App } from './helpers.js';
import { attributes, metricsOf, pointValue, startReceiver, type Receiver } from './otlp-receiver.js';

// devDependency aliases of @opentelemetry/api; 1.9.1 is the repo's own copy.
const API_PACKAGES: Record<string, string> = {
  '1.4.1': 'otel-api-1-4',
  '1.8.0': 'otel-api-1-8',
  '1.9.1': '@opentelemetry/api',
  '1.10.0': 'otel-api-1-10',
};

const APP = {
  esm: `import http from 'node:http';
import { metrics } from '@opentelemetry/api';
const orders = metrics.getMeter('shop').createCounter('shop.orders', { description: 'Orders placed' });
const server = http.createServer((req, res) => { orders.add(1, { 'payment.method': 'card' }); res.end('ok'); });
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening ' + server.address().port));
`,
  cjs: `const http = require('node:http');
const { metrics } = require('@opentelemetry/api');
const orders = metrics.getMeter('shop').createCounter('shop.orders', { description: 'Orders placed' });
const server = http.createServer((req, res) => { orders.add(1, { 'payment.method': 'card' }); res.end('ok'); });
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening ' + server.address().port));
`,
};

let dir: string;
let app: App | undefined;

/** An app directory outside the repo whose node_modules holds @mon/register and one API version. */
function appWithApi(version: string): string {
  const appDir = path.join(dir, `app-${version}`);
  mkdirSync(path.join(appDir, 'node_modules/@opentelemetry'), { recursive: true });
  mkdirSync(path.join(appDir, 'node_modules/@mon'));
  symlinkSync(path.join(root, 'node_modules', API_PACKAGES[version]!), path.join(appDir, 'node_modules/@opentelemetry/api'));
  symlinkSync(path.join(root, 'packages/register'), path.join(appDir, 'node_modules/@mon/register'));
  writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'shop', version: '1.0.0', private: true }));
  writeFileSync(path.join(appDir, 'server.mjs'), APP.esm);
  writeFileSync(path.join(appDir, 'server.cjs'), APP.cjs);
  return appDir;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mon-app-api-'));
});

// Each test's app is stopped even when its assertions fail: a failed test must not leave it running.
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(API_PACKAGES))("an app with its own @opentelemetry/api %s", (version) => {
  let appDir: string;
  beforeAll(() => {
    appDir = appWithApi(version);
  });

  it.each(['server.mjs', 'server.cjs'])('%s: custom metrics appear on /metrics beside the HTTP ones', async (file) => {
    app = await spawnApp(path.join(appDir, file), { cwd: appDir });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    const text = (await scrape(app.metricsPort)).body;
    expect(sample(text, 'shop_orders_total', { payment_method: 'card' })).toBe(3);
    expect(sample(text, 'http_server_requests_total', { http_response_status_code: '200' })).toBe(3);
    expect(app.stderr()).toBe('');
    await app.stop();
    app = undefined;
  });
});

describe('an app with api 1.10.0 exporting OTLP', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  it('exports its custom counter with the HTTP metrics', async () => {
    const appDir = path.join(dir, 'app-1.10.0');
    app = await spawnApp(path.join(appDir, 'server.cjs'), {
      cwd: appDir,
      env: {
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
      },
    });
    await request(app.port, '/');
    await request(app.port, '/');
    const deadline = Date.now() + 10_000;
    const orders = () => metricsOf(receiver.received).filter((m) => m.name === 'shop.orders').at(-1);
    while (Date.now() < deadline && (orders() === undefined || pointValue(orders()!.sum!.dataPoints[0]!) !== 2)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const point = orders()!.sum!.dataPoints[0]!;
    expect(pointValue(point)).toBe(2);
    expect(attributes(point)).toEqual({ 'payment.method': 'card' });
    expect(metricsOf(receiver.received).some((m) => m.name === 'http.server.request.duration')).toBe(true);
    expect(app.stderr()).toBe('');
    await app.stop();
    app = undefined;
  });
});
