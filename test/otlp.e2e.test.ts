// Switching to an OTLP backend is configuration only: real app, real exports into a receiver that
// decodes them with the official schema.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { prometheusMetricName, type MetricKind } from '@mon/prometheus';
import { afterEach, describe, expect, it } from 'vitest';
import { example, fixture, freePort, parseLabels, request, root, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';
import { attributes, metricsOf, pointValue, startReceiver, type OtlpMetric, type Receiver } from './otlp-receiver.js';

let app: App | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await app?.stop();
  await receiver?.close();
  app = undefined;
  receiver = undefined;
});

const CUMULATIVE = 2;
const DELTA = 1;

function otlpEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver!.url,
    // Long enough that only the flush at exit exports, unless a test shortens it.
    OTEL_METRIC_EXPORT_INTERVAL: '60000',
    OTEL_METRIC_EXPORT_TIMEOUT: '3000',
    ...extra,
  };
}

/**
 * Waits until the app's pipeline is built (it loads on first need, or once the app has started:
 * packages/register/src/start.ts), for tests about a signal that arrives in a running app. The app
 * must run with NODE_DEBUG=mon. A signal before that is the short-lived case (startup.e2e.test.ts).
 */
async function pipelineBuilt(app: App): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!app.stderr().includes('pipeline built')) {
    if (Date.now() > deadline) throw new Error(`the pipeline was not built\nstderr: ${app.stderr()}`);
    await sleep(20);
  }
}

function requestsMetric(metrics: OtlpMetric[]): OtlpMetric[] {
  return metrics.filter((m) => m.name === 'http.server.requests');
}

const monLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('mon: '));

describe.each([
  ['http/protobuf', 'application/x-protobuf'],
  ['http/json', 'application/json'],
])('OTLP over %s', (protocol, contentType) => {
  it('flushes the last interval on SIGTERM: the receiver has exactly the requests sent', async () => {
    receiver = await startReceiver();
    app = await spawnApp(example('http-esm/server.mjs'), { env: otlpEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol }) });
    const sent = 7;
    for (let i = 0; i < sent; i++) await request(app.port, i % 2 ? '/' : '/fail');
    expect(receiver.received).toHaveLength(0);
    app.child.kill('SIGTERM');
    // The app has no SIGTERM handler: it still dies of the signal, after the flush.
    expect(await app.exited).toBe('SIGTERM');
    expect(receiver.received.length).toBeGreaterThanOrEqual(1);
    expect(receiver.received[0]!.contentType).toContain(contentType);
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    expect(last.sum!.aggregationTemporality).toBe(CUMULATIVE);
    expect(last.sum!.isMonotonic).toBe(true);
    const points = last.sum!.dataPoints;
    expect(points.reduce((n, p) => n + pointValue(p), 0)).toBe(sent);
    expect(points.map(attributes)).toContainEqual({
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'http.response.status_code': 500,
      'error.type': '500',
    });
    const resource = receiver.received[0]!.body.resourceMetrics[0]!.resource!.attributes!;
    expect(resource.find((a) => a.key === 'service.name')?.value.stringValue).toBe('example-http-esm');
  });
});

describe('OTLP', () => {
  it('with delta temporality, the points add up to the requests sent', async () => {
    receiver = await startReceiver();
    app = await spawnApp(example('http-cjs/server.cjs'), {
      env: otlpEnv({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta', OTEL_METRIC_EXPORT_INTERVAL: '300' }),
    });
    for (let i = 0; i < 4; i++) await request(app.port, '/');
    await sleep(700);
    for (let i = 0; i < 5; i++) await request(app.port, '/');
    app.child.kill('SIGTERM');
    await app.exited;
    const requests = requestsMetric(metricsOf(receiver.received));
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const m of requests) expect(m.sum!.aggregationTemporality).toBe(DELTA);
    expect(requests.flatMap((m) => m.sum!.dataPoints).reduce((n, p) => n + pointValue(p), 0)).toBe(9);
  });

  it.each(['explicit_bucket_histogram', 'base2_exponential_bucket_histogram'])('runs Prometheus and OTLP side by side, and OTLP names translate to exactly the series served (%s)', async (histograms) => {
    receiver = await startReceiver();
    app = await spawnApp(example('http-esm/server.mjs'), {
      env: otlpEnv({ OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: histograms }),
    });
    await request(app.port, '/');
    await request(app.port, '/order');
    // An outgoing call too, so the HTTP client instruments are compared as well.
    await request(app.port, '/checkout');
    const text = (await scrape(app.metricsPort)).body;
    app.child.kill('SIGTERM');
    await app.exited;

    const served = new Set(
      [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!).filter((name) => name !== 'target_info'),
    );
    const kind = (m: OtlpMetric): MetricKind =>
      m.histogram ? 'histogram' : m.exponentialHistogram ? 'exponential-histogram' : m.gauge ? 'gauge' : m.sum!.isMonotonic ? 'monotonic-sum' : 'non-monotonic-sum';
    const exported = new Set(metricsOf(receiver.received).map((m) => prometheusMetricName(m.name, m.unit ?? '', kind(m))));
    // Every instrument the product creates: HTTP, host, runtime, and the app's own.
    expect(served.size).toBeGreaterThan(20);
    // v8js.gc.duration exists from the first GC on, which may fall between the scrape and the
    // flush; every other name must match exactly.
    const onlyOneSide = [...served].filter((n) => !exported.has(n)).concat([...exported].filter((n) => !served.has(n)));
    expect(onlyOneSide.filter((n) => n !== 'v8js_gc_duration_seconds')).toEqual([]);
    expect(exported.size).toBeGreaterThan(20);
    expect(served).toContain('http_server_requests_total');
    expect(served).toContain('http_server_request_duration_seconds');
    expect(served).toContain('shop_orders_total');
    expect(served).toContain('http_client_request_duration_seconds');
    expect(served).toContain('http_client_active_requests');
  });

  it.each(['http/protobuf', 'http/json'])(
    'exports exponential histograms over %s with OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION, names as the pull side',
    async (protocol) => {
      receiver = await startReceiver();
      app = await spawnApp(example('http-esm/server.mjs'), {
        env: otlpEnv({
          OTEL_METRICS_EXPORTER: 'prometheus,otlp',
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram',
        }),
      });
      for (let i = 0; i < 5; i++) await request(app.port, '/slow?ms=20');
      const text = (await scrape(app.metricsPort)).body;
      app.child.kill('SIGTERM');
      await app.exited;
      const metrics = metricsOf(receiver.received);
      const duration = metrics.find((m) => m.name === 'http.server.request.duration')!;
      expect(duration.histogram).toBeUndefined();
      const point = duration.exponentialHistogram!.dataPoints[0]!;
      expect(Number(point.count)).toBe(5);
      expect(point.scale).toBeLessThanOrEqual(8);
      const counts = (point.positive?.bucketCounts ?? []).map(Number);
      expect(counts.reduce((a, b) => a + b, 0) + Number(point.zeroCount ?? 0)).toBe(5);
      // Each bucket is (2^(i/2^scale), 2^((i+1)/2^scale)]: the 20 ms requests sit at or above 19 ms
      // (libuv's loop clock is whole milliseconds, cached per turn, so a 20 ms timer may end up to
      // 1 ms early by the high-resolution clock the duration is measured with; seen on Node 24).
      const first = counts.findIndex((c) => c > 0) + (point.positive?.offset ?? 0);
      expect(2 ** ((first + 1) / 2 ** point.scale!)).toBeGreaterThanOrEqual(0.019);
      // The pull side serves the same name (its classic form: text has no exponential histograms).
      expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
      expect(prometheusMetricName(duration.name, duration.unit ?? '', 'exponential-histogram')).toBe('http_server_request_duration_seconds');
    },
  );

  it('writes 64-bit integers as decimal strings in OTLP/JSON, as the encoding requires', async () => {
    receiver = await startReceiver();
    app = await spawnApp(example('http-esm/server.mjs'), { env: otlpEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }) });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    app.child.kill('SIGTERM');
    await app.exited;
    const metrics = metricsOf(receiver.received);
    const requests = requestsMetric(metrics).at(-1)!.sum!.dataPoints[0]!;
    expect(requests.asInt).toBe('3');
    expect(requests.timeUnixNano).toMatch(/^\d+$/);
    const attribute = requests.attributes!.find((a) => a.key === 'http.response.status_code')!;
    expect(attribute.value.intValue).toBe('200');
    const duration = metrics.find((m) => m.name === 'http.server.request.duration')!.histogram!.dataPoints[0]!;
    expect(duration.count).toBe('3');
    expect(duration.bucketCounts!.every((c) => typeof c === 'string')).toBe(true);
    // Doubles stay numbers.
    expect(typeof duration.sum).toBe('number');
    // No 64-bit field anywhere in the body is a bare number.
    const raw = receiver.raw.map((b) => b.toString('utf8')).join('\n');
    expect(raw).not.toMatch(/"(asInt|count|zeroCount|intValue|timeUnixNano|startTimeUnixNano)":\d/);
    expect(raw).not.toMatch(/"bucketCounts":\[\d/);
  });

  it('loads no exporter code unless it is chosen', async () => {
    // The OTLP exporters are bundled into chunks of their own; find the ones that define them (the
    // start-up chunk names OTLPMetricExporter too, in the dynamic import that loads it).
    const chunkDir = path.join(root, 'packages/register/dist/bundle/chunks');
    const exporterChunks = readdirSync(chunkDir).filter(
      (f) => f.endsWith('.js') && /OTLPMetricExporter(Base)?=class/.test(readFileSync(path.join(chunkDir, f), 'utf8')),
    );
    expect(exporterChunks.length).toBeGreaterThan(0);
    const closedPort = await freePort();
    const metricsPort = await freePort();
    const loaded = (exporter: string): string[] => {
      const out = spawnSync(
        process.execPath,
        // A meter: the pipeline (and its exporters) load on first need, and this is one.
        ['--import', fixture('record-loads.mjs'), '--import', '@mon/register', '-e', RECORD_ONE],
        {
          cwd: root,
          env: {
            ...process.env,
            OTEL_METRICS_EXPORTER: exporter,
            OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
            // Nothing listens there: the exit flush fails fast and is bounded by this timeout.
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
            OTEL_METRIC_EXPORT_TIMEOUT: '300',
          },
          encoding: 'utf8',
          timeout: 10_000,
        },
      ).stdout;
      return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
    };
    const isExporter = (url: string): boolean => exporterChunks.some((f) => url.endsWith(`/chunks/${f}`));
    const prometheusOnly = loaded('prometheus');
    expect(prometheusOnly.some((url) => /\/chunks\/pipeline-/.test(url))).toBe(true);
    expect(prometheusOnly.some((url) => url.includes('/register/dist/bundle/index.js'))).toBe(true);
    expect(prometheusOnly.filter(isExporter)).toEqual([]);
    expect(loaded('otlp').filter(isExporter).length).toBeGreaterThan(0);
  });
});

const HTTP2_CHANNELS = Number(process.versions.node.split('.')[0]) >= 22;

/** Label set -> count of one series family as served: `name` a counter or a histogram's _count. */
function servedCounts(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/gm)) {
    if (m[1] !== name) continue;
    const labels = parseLabels(m[2]!);
    const key = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** The same from the last export of one OTLP metric, its attribute keys as Prometheus label names. */
function exportedCounts(metrics: OtlpMetric[], name: string): Record<string, number> {
  const last = metrics.filter((m) => m.name === name).at(-1);
  const out: Record<string, number> = {};
  for (const point of (last?.histogram ?? last?.sum)?.dataPoints ?? []) {
    const labels = Object.fromEntries(Object.entries(attributes(point)).map(([k, v]) => [k.replace(/\./g, '_'), String(v)]));
    const key = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
    out[key] = (out[key] ?? 0) + pointValue(point);
  }
  return out;
}

describe.runIf(HTTP2_CHANNELS)('OTLP, HTTP/2 and gRPC (Node 22+: Node 20 publishes no http2 channels)', () => {
  it('exports the RPC series and the HTTP/2 requests with the names, attributes and counts served on /metrics', async () => {
    receiver = await startReceiver();
    // A @grpc/grpc-js server and client making 11 calls (OK, NOT_FOUND, a throw, an unknown
    // service, a deadline, a cancel, a stream), and 3 plain HTTP/2 requests to an h2c server.
    app = await spawnApp(fixture('grpc-calls.mjs'), { env: otlpEnv({ OTEL_METRICS_EXPORTER: 'prometheus,otlp' }) });
    // The server side of a cancelled call closes a moment after the client's: poll until all are in.
    let text = '';
    for (const deadline = Date.now() + 8_000; Date.now() < deadline; await sleep(50)) {
      text = (await scrape(app.metricsPort)).body;
      if (sumSamples(text, 'rpc_server_call_duration_seconds_count') === 11 && sumSamples(text, 'http_server_requests_total') === 3) break;
    }
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe('SIGTERM');
    const metrics = metricsOf(receiver.received);

    const families: Array<[otlp: string, prometheus: string, calls: number]> = [
      ['rpc.server.call.duration', 'rpc_server_call_duration_seconds_count', 11],
      ['rpc.client.call.duration', 'rpc_client_call_duration_seconds_count', 11],
      ['http.server.requests', 'http_server_requests_total', 3],
      ['http.server.request.duration', 'http_server_request_duration_seconds_count', 3],
      ['http.client.request.duration', 'http_client_request_duration_seconds_count', 3],
    ];
    for (const [otlpName, promName, calls] of families) {
      const served = servedCounts(text, promName);
      expect(Object.values(served).reduce((a, b) => a + b, 0), promName).toBe(calls);
      expect(exportedCounts(metrics, otlpName), otlpName).toEqual(served);
    }
    // Spelled out once, so that a label lost on both sides cannot pass unnoticed.
    const rpcServer = metrics.filter((m) => m.name === 'rpc.server.call.duration').at(-1)!;
    expect(rpcServer.unit).toBe('s');
    expect(rpcServer.histogram!.aggregationTemporality).toBe(CUMULATIVE);
    expect(rpcServer.histogram!.dataPoints.map(attributes)).toContainEqual({
      'rpc.system.name': 'grpc',
      'rpc.method': 'mon.test.Echo/Find',
      'rpc.response.status_code': 'NOT_FOUND',
    });
    expect(metrics.filter((m) => m.name === 'http.server.requests').at(-1)!.sum!.dataPoints.map(attributes)).toContainEqual({
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'http.response.status_code': 200,
      'network.protocol.version': '2',
    });
  });
});

/** An app's one counter increment, at its top level, then 300 ms of life. */
const RECORD_ONE = "require('@opentelemetry/api').metrics.getMeter('t').createCounter('t.things').add(1); setTimeout(() => {}, 300)";

describe('OTLP backend trouble', () => {
  it('connection refused: one warning, the app serves every request and still exits on SIGTERM', async () => {
    const closed = await freePort();
    app = await spawnApp(example('http-esm/server.mjs'), {
      env: {
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        OTEL_METRIC_EXPORT_TIMEOUT: '200',
      },
    });
    for (let i = 0; i < 20; i++) expect((await request(app.port, '/')).status).toBe(200);
    await sleep(1_000); // several failed intervals
    const started = Date.now();
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe('SIGTERM');
    // Failed exports must not hold the exit: seconds would mean a retry or timeout ran on.
    expect(Date.now() - started).toBeLessThan(3_000);
    const lines = monLines(app.stderr());
    expect(lines.filter((l) => l.includes('MON_EXPORT_FAILED'))).toHaveLength(1);
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(lines[0]).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(app.stderr()).not.toMatch(/Unhandled|TypeError|at .*\(/);
  });

  it('503 with Retry-After is retried, then accepted', async () => {
    receiver = await startReceiver();
    receiver.behave((req, res, attempt) => {
      if (attempt === 1) {
        res.writeHead(503, { 'retry-after': '1' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
    app = await spawnApp(example('http-esm/server.mjs'), { env: otlpEnv({ OTEL_METRIC_EXPORT_TIMEOUT: '5000' }) });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe('SIGTERM');
    expect(receiver.attempts).toBe(2);
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    expect(last.sum!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(3);
    expect(monLines(app.stderr())).toEqual([]);
  });

  it('400 is not retried and costs one warning naming the status', async () => {
    receiver = await startReceiver();
    receiver.behave((req, res) => {
      res.writeHead(400);
      res.end('bad');
    });
    app = await spawnApp(example('http-esm/server.mjs'), { env: otlpEnv({ OTEL_METRIC_EXPORT_INTERVAL: '200' }) });
    for (let i = 0; i < 3; i++) expect((await request(app.port, '/')).status).toBe(200);
    await sleep(900);
    app.child.kill('SIGTERM');
    await app.exited;
    const exports = receiver.attempts;
    expect(exports).toBeGreaterThanOrEqual(2);
    const lines = monLines(app.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('HTTP 400');
  });

  it('a receiver that never answers delays a SIGTERM exit by at most OTEL_METRIC_EXPORT_TIMEOUT', async () => {
    receiver = await startReceiver();
    receiver.behave(() => {
      // never answer
    });
    app = await spawnApp(example('http-esm/server.mjs'), { env: otlpEnv({ OTEL_METRIC_EXPORT_TIMEOUT: '800' }) });
    await request(app.port, '/');
    const started = Date.now();
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe('SIGTERM');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(700);
    // Well under the exporter's own 10 s default: the 800 ms setting is what ended the wait.
    expect(took).toBeLessThan(800 + 2_500);
  });

  it('an app with its own SIGTERM handler keeps control, and the flush still happens', async () => {
    receiver = await startReceiver();
    // Serving 1.5 s after the signal, so a loaded machine's pause cannot end it before the request.
    app = await spawnApp(fixture('own-sigterm.mjs'), { env: otlpEnv({ CLEANUP_MS: '1500', NODE_DEBUG: 'mon' }) });
    await request(app.port, '/');
    await request(app.port, '/');
    // Else the signal's flush loads the SDK first, and may count the request served meanwhile.
    await pipelineBuilt(app);
    app.child.kill('SIGTERM');
    await sleep(100);
    expect((await request(app.port, '/')).body).toBe('ok\n');
    expect(await app.exited).toBe(0);
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    // The 2 served before the signal, flushed at the signal. The one served while the handler let
    // it run on is lost: this app ends with process.exit(), after which nothing can be sent
    // (docs/otlp.md; the drain test below ends by emptying its loop and loses nothing).
    expect(last.sum!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(2);
  });

  it('an app that drains after SIGTERM: what it served while draining is exported too', async () => {
    receiver = await startReceiver();
    // Draining 2 s, so a loaded machine's pause cannot close it before the five requests.
    app = await spawnApp(fixture('drain-on-sigterm.mjs'), { env: otlpEnv({ DRAIN_MS: '2000' }) });
    for (let i = 0; i < 2; i++) await request(app.port, '/');
    app.child.kill('SIGTERM');
    await sleep(100);
    for (let i = 0; i < 5; i++) expect((await request(app.port, '/')).status).toBe(200);
    expect(await app.exited).toBe(0);
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    expect(last.sum!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(7);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('an app using signal-exit for cleanup still dies of %s, after the flush', async (signal) => {
    receiver = await startReceiver();
    app = await spawnApp(fixture('signal-exit.mjs'), { env: otlpEnv({ NODE_DEBUG: 'mon' }) });
    await request(app.port, '/');
    // The bound below is the flush's, not the SDK's load (a signal before it: startup.e2e.test.ts).
    await pipelineBuilt(app);
    const started = Date.now();
    app.child.kill(signal);
    expect(await app.exited).toBe(signal);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(app.stdout()).toContain(`cleanup on ${signal}`);
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    expect(last.sum!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(1);
  });

  it('SIGINT, like SIGTERM, flushes and then ends an app without a handler', async () => {
    receiver = await startReceiver();
    app = await spawnApp(example('http-cjs/server.cjs'), { env: otlpEnv() });
    for (let i = 0; i < 4; i++) await request(app.port, '/');
    app.child.kill('SIGINT');
    expect(await app.exited).toBe('SIGINT');
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    expect(last.sum!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(4);
  });

  // The SDK loads on first need (packages/register/src/start.ts): at exit, when anything was recorded.
  it.each([
    ["an app's counter, recorded at its top level", `require('@opentelemetry/api').metrics.getMeter('cli').createCounter('cli.runs').add(1, { command: 'build' });`],
    [
      'outgoing calls only, no meter and no server',
      `const http = require('node:http');
       http.get(process.env.TARGET, (r) => { r.resume(); r.on('end', () => http.get(process.env.TARGET, (r) => r.resume())); });`,
    ],
  ])('a short-lived process exports what it recorded at exit: %s', async (_, script) => {
    receiver = await startReceiver();
    const target = http.createServer((_, res) => res.end('x')).listen(0, '127.0.0.1');
    await once(target, 'listening');
    try {
      const child = spawn(process.execPath, ['--import', '@mon/register', '-e', script], {
        cwd: root,
        env: { ...process.env, ...otlpEnv(), TARGET: `http://127.0.0.1:${(target.address() as AddressInfo).port}/` },
        stdio: 'ignore',
      });
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      target.close();
    }
    const metrics = metricsOf(receiver.received);
    if (script.includes('cli.runs')) {
      const runs = metrics.filter((m) => m.name === 'cli.runs').at(-1)!;
      expect(runs.sum!.dataPoints.map((p) => [attributes(p), pointValue(p)])).toEqual([[{ command: 'build' }, 1]]);
    } else {
      const calls = metrics.filter((m) => m.name === 'http.client.request.duration').at(-1)!;
      expect(calls.histogram!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(2);
    }
  });

  it('flushes when the event loop empties (beforeExit)', async () => {
    receiver = await startReceiver();
    const script = `
      const http = require('node:http');
      const s = http.createServer((q, r) => r.end('x')).listen(0, () => {
        let left = 3;
        for (let i = 0; i < 3; i++) http.get('http://127.0.0.1:' + s.address().port, (r) => { r.resume(); r.on('end', () => { if (--left === 0) s.close(); }); });
      });`;
    // Async spawn: the receiver lives in this process and must keep answering.
    const child = spawn(process.execPath, ['--import', '@mon/register', '-e', script], {
      cwd: root,
      env: { ...process.env, ...otlpEnv() },
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const last = requestsMetric(metricsOf(receiver.received)).at(-1)!;
    expect(last.sum!.dataPoints.reduce((n, p) => n + pointValue(p), 0)).toBe(3);
  });
});
