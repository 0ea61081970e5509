// HTTP/2 servers under `node --import @mon/register`: node:http2 (stream API on h2c, compatibility
// API on TLS with allowHTTP1) and Fastify 5 with `http2: true`, real clients, the real endpoint.
// Node 22+ publishes the http2 channels; on Node 20 the documented absence and its one warning.
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, freePort, parseLabels, sample, scrape, sleep, spawnApp, sumSamples, waitForEndpoint, type App } from './helpers.js';

const HTTP2_CHANNELS = Number(process.versions.node.split('.')[0]) >= 22;
const ca = fs.readFileSync(fixture('tls-cert.pem'));

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

interface H2Reply {
  status: number;
  reset: boolean;
}

/** One HTTP/2 request on its own session; `cancelAfterMs` resets it from the client side. */
function h2request(
  origin: string,
  path: string,
  options: { method?: string; cancelAfterMs?: number; dropAfterMs?: number; headers?: Record<string, string> } = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, { ca });
    session.on('error', reject);
    const req = session.request({ ':path': path, ':method': options.method ?? 'GET', ...options.headers });
    let status = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('error', () => {});
    req.resume();
    if (options.cancelAfterMs !== undefined) {
      // Counted from when the server has the stream: the request's headers are sent once it is ready.
      req.on('ready', () => setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), options.cancelAfterMs));
    }
    if (options.dropAfterMs !== undefined) {
      // The whole connection goes away (the client's process died, a proxy dropped it).
      req.on('ready', () => setTimeout(() => session.destroy(), options.dropAfterMs));
    }
    req.on('close', () => {
      session.close();
      resolve({ status, reset: req.rstCode !== 0 });
    });
    req.end();
  });
}

/** An HTTP/1.1 request over TLS (allowHTTP1). */
function https1(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sum of the series of `name` that match `labels` and carry none of `absent`. */
function sumWithout(text: string, name: string, labels: Record<string, string>, absent: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = parseLabels(m[3] ?? '');
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && absent.every((k) => got[k] === undefined)) total += Number(m[4]);
  }
  return total;
}

async function waitFor(read: () => Promise<string>, done: (text: string) => boolean, ms = 8_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await read();
    if (done(text) || Date.now() > deadline) return text;
    await sleep(50);
  }
}

const V2 = { network_protocol_version: '2' };

describe.runIf(HTTP2_CHANNELS)('HTTP/2 servers (Node 22+)', () => {
  async function start(env: Record<string, string> = {}): Promise<{ h2c: string; tls: string; tlsPort: number }> {
    const tlsPort = await freePort();
    app = await spawnApp(fixture('http2-server.mjs'), { env: { TLS_PORT: String(tlsPort), ...env } });
    return { h2c: `http://127.0.0.1:${app.port}`, tls: `https://localhost:${tlsPort}`, tlsPort };
  }

  it('counts stream-API requests once each, by method and the status sent, resets and dropped connections ended and never left active', async () => {
    const { h2c } = await start({ MON_ROUTE_PATTERNS: '/users/:id' });
    for (let i = 0; i < 3; i++) expect((await h2request(h2c, '/')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await h2request(h2c, `/missing/${i}`)).status).toBe(404);
    expect((await h2request(h2c, '/fail')).status).toBe(500);
    expect((await h2request(h2c, '/created', { method: 'POST' })).status).toBe(201);
    expect((await h2request(h2c, '/users/7')).status).toBe(404);
    // Reset by the server before any answer, and by the client while the server waits.
    expect((await h2request(h2c, '/reset')).reset).toBe(true);
    expect((await h2request(h2c, '/slow?ms=3000', { cancelAfterMs: 100 })).reset).toBe(true);
    await h2request(h2c, '/slow?ms=3000', { dropAfterMs: 100 });

    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total', { ...V2, error_type: 'aborted' }) === 3,
    );
    const get = { ...V2, http_request_method: 'GET', url_scheme: 'http' };
    expect(sumWithout(text, 'http_server_requests_total', { ...get, http_response_status_code: '200' }, ['error_type'])).toBe(3);
    expect(sumWithout(text, 'http_server_requests_total', { ...get, http_response_status_code: '404' }, ['error_type'])).toBe(3);
    expect(sample(text, 'http_server_requests_total', { ...get, http_response_status_code: '500', error_type: '500' })).toBe(1);
    expect(sumWithout(text, 'http_server_requests_total', { ...V2, http_request_method: 'POST', http_response_status_code: '201' }, ['error_type'])).toBe(1);
    // MON_ROUTE_PATTERNS applies to HTTP/2 paths too.
    expect(sample(text, 'http_server_requests_total', { ...get, http_route: '/users/:id', http_response_status_code: '404' })).toBe(1);
    // Aborted streams (reset by the server, by the client, with their connection): counted once each, with no status.
    expect(sumSamples(text, 'http_server_requests_total', { ...get, error_type: 'aborted' })).toBe(3);
    expect(text).not.toMatch(/http_server_requests_total\{[^}]*http_response_status_code="[^"]*"[^}]*error_type="aborted"/);
    expect(sumSamples(text, 'http_server_requests_total')).toBe(11);
    expect(sumSamples(text, 'http_server_request_duration_seconds_count', V2)).toBe(11);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
    expect(sample(text, 'http_server_active_requests', get)).toBe(0);
    // Raw paths never become label values.
    expect(text).not.toMatch(/missing/);
  });

  it('counts many streams on one session once each: finished, reset by the client, and in flight when the session dies', async () => {
    const { h2c } = await start();
    await waitForEndpoint(app!.metricsPort);
    const session = http2.connect(h2c);
    session.on('error', () => {});
    const request = (path: string, cancel: boolean): Promise<void> =>
      new Promise((resolve) => {
        const req = session.request({ ':path': path });
        req.on('error', () => {});
        req.resume();
        if (cancel) req.on('ready', () => setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 50));
        req.on('close', () => resolve());
        req.end();
      });
    // 60 streams at once on one connection (more than mon's per-session table starts with), a third reset by the client.
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? request('/slow?ms=3000', true) : request('/', false))));
    // Five more in flight when the connection goes away.
    const dying = Array.from({ length: 5 }, () => request('/slow?ms=3000', false));
    await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_active_requests', V2) === 5,
    );
    session.destroy();
    await Promise.all(dying);

    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total', { ...V2, error_type: 'aborted' }) === 25,
    );
    expect(sumWithout(text, 'http_server_requests_total', { ...V2, http_request_method: 'GET', http_response_status_code: '200' }, ['error_type'])).toBe(40);
    expect(sumSamples(text, 'http_server_requests_total', { ...V2, error_type: 'aborted' })).toBe(25);
    expect(sumSamples(text, 'http_server_requests_total')).toBe(65);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
  });

  it('counts a request that only claims to be gRPC (its content-type) as HTTP when the server answers it as HTTP: no rpc.method from the client', async () => {
    const { h2c } = await start();
    const grpc = { method: 'POST', headers: { 'content-type': 'application/grpc' } };
    for (let i = 0; i < 5; i++) expect((await h2request(h2c, `/evil.Svc/M${i}`, grpc)).status).toBe(404);
    // Reset by the client before any answer: whether the server speaks gRPC is unknown, so no name.
    expect((await h2request(h2c, '/evil.Svc/Slow?ms=3000', { ...grpc, cancelAfterMs: 100 })).reset).toBe(true);
    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total', { ...V2, http_response_status_code: '404' }) === 5 && /rpc_server_call_duration_seconds_count/.test(t),
    );
    expect(sumSamples(text, 'http_server_requests_total', { ...V2, http_request_method: 'POST', http_response_status_code: '404' })).toBe(5);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
    expect(text).not.toMatch(/evil/);
    expect(sumSamples(text, 'rpc_server_call_duration_seconds_count', { rpc_method: '_OTHER', rpc_response_status_code: 'CANCELLED' })).toBe(1);
    expect(sumSamples(text, 'rpc_server_call_duration_seconds_count')).toBe(1);
  });

  it('counts compatibility-API requests over TLS as https, and HTTP/1.1 requests on allowHTTP1 once, as HTTP/1', async () => {
    const { tls, tlsPort } = await start();
    for (let i = 0; i < 2; i++) expect((await h2request(tls, '/')).status).toBe(200);
    expect((await h2request(tls, '/missing')).status).toBe(404);
    for (let i = 0; i < 2; i++) expect(await https1(tlsPort, '/')).toBe(200);

    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total') >= 5,
    );
    const tlsGet = { http_request_method: 'GET', url_scheme: 'https' };
    expect(sumWithout(text, 'http_server_requests_total', { ...tlsGet, ...V2, http_response_status_code: '200' }, ['error_type'])).toBe(2);
    expect(sumWithout(text, 'http_server_requests_total', { ...tlsGet, ...V2, http_response_status_code: '404' }, ['error_type'])).toBe(1);
    // HTTP/1.1 series keep the labels they always had: no network_protocol_version.
    expect(sumWithout(text, 'http_server_requests_total', { ...tlsGet, http_response_status_code: '200' }, ['network_protocol_version', 'error_type'])).toBe(2);
    expect(sumSamples(text, 'http_server_requests_total')).toBe(5);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
  });

  it('shows an HTTP/2 request in flight as active until its stream closes', async () => {
    const { h2c } = await start();
    await waitForEndpoint(app!.metricsPort);
    const slow = h2request(h2c, '/slow?ms=1500');
    const during = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_active_requests', V2) === 1,
    );
    expect(sample(during, 'http_server_active_requests', { ...V2, http_request_method: 'GET', url_scheme: 'http' })).toBe(1);
    await slow;
    const after = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total', V2) === 1,
    );
    expect(sumSamples(after, 'http_server_active_requests')).toBe(0);
    const sum = sample(after, 'http_server_request_duration_seconds_sum', V2)!;
    expect(sum).toBeGreaterThanOrEqual(1.4);
    expect(sum).toBeLessThan(5);
  });

  it('counts fetch over HTTP/2 (undici with allowH2) once, from undici, not again from node:http2', async () => {
    app = await spawnApp(fixture('undici-h2.mjs'));
    expect(app.stdout()).toContain('fetched ["over 2.0","over 2.0","over 2.0"]');
    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_client_request_duration_seconds_count') >= 3,
    );
    expect(sumSamples(text, 'http_client_request_duration_seconds_count')).toBe(3);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count', { server_address: 'localhost', http_response_status_code: '200' })).toBe(2);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count', { http_response_status_code: '404' })).toBe(1);
    expect(sumSamples(text, 'http_server_requests_total', { ...V2, url_scheme: 'https' })).toBe(3);
  });

  it('marks outgoing node:http2 calls network_protocol_version="2" (HTTP/1.1 calls unchanged), and a refused connection by its code, as HTTP/1 does', async () => {
    app = await spawnApp(fixture('http2-client.mjs'));
    expect(app.stdout()).toContain('results [200,200,404,"ECONNREFUSED",200]');
    const [, h2Port, closedPort] = /h2 (\d+) closed (\d+)/.exec(app.stdout())!;
    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_client_request_duration_seconds_count') >= 5,
    );
    const h2 = { ...V2, http_request_method: 'GET', server_address: '127.0.0.1', url_scheme: 'http' };
    expect(sumWithout(text, 'http_client_request_duration_seconds_count', { ...h2, server_port: h2Port!, http_response_status_code: '200' }, ['error_type'])).toBe(2);
    expect(sample(text, 'http_client_request_duration_seconds_count', { ...h2, server_port: h2Port!, http_response_status_code: '404', error_type: '404' })).toBe(1);
    expect(sample(text, 'http_client_request_duration_seconds_count', { ...h2, server_port: closedPort!, error_type: 'ECONNREFUSED' })).toBe(1);
    // The HTTP/1.1 call keeps the labels HTTP/1.1 calls always had.
    expect(sumWithout(text, 'http_client_request_duration_seconds_count', { server_port: String(app.port), http_response_status_code: '200' }, ['network_protocol_version'])).toBe(1);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count')).toBe(5);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count', V2)).toBe(4);
    expect(sumSamples(text, 'http_client_active_requests')).toBe(0);
  });

  it('takes Fastify 5 routes with http2: true', async () => {
    app = await spawnApp(fixture('fastify-http2.mjs'));
    const origin = `http://127.0.0.1:${app.port}`;
    expect((await h2request(origin, '/users/1')).status).toBe(200);
    expect((await h2request(origin, '/users/2')).status).toBe(200);
    expect((await h2request(origin, '/users/3/orders', { method: 'POST' })).status).toBe(201);
    expect((await h2request(origin, '/nope')).status).toBe(404);
    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total', V2) === 4,
    );
    expect(sumWithout(text, 'http_server_requests_total', { ...V2, http_route: '/users/:id', http_response_status_code: '200' }, ['error_type'])).toBe(2);
    expect(sumWithout(text, 'http_server_requests_total', { ...V2, http_route: '/users/:id/orders', http_response_status_code: '201' }, ['error_type'])).toBe(1);
    expect(sumWithout(text, 'http_server_requests_total', { ...V2, http_response_status_code: '404' }, ['http_route'])).toBe(1);
    expect(text).not.toMatch(/nope/);
  });
});

describe.runIf(!HTTP2_CHANNELS)('HTTP/2 servers on Node 20 (no http2 channels)', () => {
  it('counts no HTTP/2 request, warns once, and still counts HTTP/1.1 requests on allowHTTP1', async () => {
    const tlsPort = await freePort();
    app = await spawnApp(fixture('http2-server.mjs'), { env: { TLS_PORT: String(tlsPort) } });
    expect((await h2request(`http://127.0.0.1:${app.port}`, '/')).status).toBe(200);
    expect((await h2request(`https://localhost:${tlsPort}`, '/')).status).toBe(200);
    expect(await https1(tlsPort, '/')).toBe(200);
    const text = await waitFor(
      () => scrape(app!.metricsPort).then((r) => r.body),
      (t) => sumSamples(t, 'http_server_requests_total') >= 1,
    );
    expect(sumSamples(text, 'http_server_requests_total')).toBe(1);
    expect(text).not.toContain('network_protocol_version');
    // Two HTTP/2 servers listened: one line.
    expect(app.stderr().match(/MON_HTTP2_NOT_COUNTED/g)).toHaveLength(1);
    expect(app.stderr()).toMatch(/^mon: Node 20\.[0-9.]+ does not publish the HTTP\/2 diagnostics channels mon reads: .* \[MON_HTTP2_NOT_COUNTED\]$/m);
  });
});
