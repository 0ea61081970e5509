// Outgoing calls of a real app under `node --import @mon/register`: fetch, http and https clients
// against real local upstreams (one plain, one TLS with the test-only certificate in fixtures/),
// counted from what the scraped endpoint shows.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './otlp-receiver.js';
import { fixture, freePort, parseLabels, request, scrape, sleep, spawnApp, waitForEndpoint, type App } from './helpers.js';

const cert = fixture('tls-cert.pem');

/** The upstream both servers serve; /slow and /big let calls be caught in flight. */
function upstream(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/status') {
    res.statusCode = Number(url.searchParams.get('code'));
    res.end('status');
  } else if (url.pathname === '/redirect') {
    res.writeHead(302, { location: '/ok' }).end('moved');
  } else if (url.pathname === '/slow') {
    const timer = setTimeout(() => res.end('late'), 2_000);
    res.on('close', () => clearTimeout(timer));
  } else if (url.pathname === '/big') {
    res.end(Buffer.alloc(8 << 20));
  } else if (url.pathname === '/reset') {
    req.socket.destroy();
  } else {
    res.end('ok');
  }
}

let plain: http.Server;
let tls: https.Server;
let plainPort: number;
let tlsPort: number;
let app: App | undefined;
let receiver: Receiver | undefined;

beforeAll(async () => {
  plain = http.createServer(upstream).listen(0, '127.0.0.1');
  tls = https.createServer({ cert: readFileSync(cert), key: readFileSync(fixture('tls-key.pem')) }, upstream).listen(0, '127.0.0.1');
  await Promise.all([once(plain, 'listening'), once(tls, 'listening')]);
  // A protocol switch, as a WebSocket server answers: 101, then the socket is the app's.
  plain.on('upgrade', (req, socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n'));
  plainPort = (plain.address() as AddressInfo).port;
  tlsPort = (tls.address() as AddressInfo).port;
});

afterAll(() => {
  plain.closeAllConnections();
  tls.closeAllConnections();
  plain.close();
  tls.close();
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await receiver?.close();
  receiver = undefined;
});

/** The app performs one call; resolves with what it answered ({ ok } or { error }). */
async function call(params: Record<string, string | number>): Promise<{ ok?: unknown; error?: string }> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  return JSON.parse((await request(app!.port, `/call?${query}`)).body);
}

/** Every series of a metric as "label=value ..." (sorted, le left out) -> value. */
function seriesOf(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = parseLabels(m[2] ?? '');
    const key = Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(' ');
    out.set(key, Number(m[3]));
  }
  return out;
}

const key = (labels: Record<string, string | number>): string =>
  Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(' ');

/** A series of http_client_request_duration_seconds_count, as the endpoint labels it. */
function calls(method: string, address: string, port: number, scheme: string, status?: number, error?: string): string {
  return key({
    http_request_method: method,
    server_address: address,
    server_port: port,
    url_scheme: scheme,
    ...(status === undefined ? {} : { http_response_status_code: status }),
    ...(error === undefined ? {} : { error_type: error }),
  });
}

async function scrapeUntil(done: (text: string) => boolean, ms = 5_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = (await scrape(app!.metricsPort)).body;
    if (done(text) || Date.now() > deadline) return text;
    await sleep(50);
  }
}

const allIdle = (text: string): boolean => [...seriesOf(text, 'http_client_active_requests').values()].every((v) => v === 0);

describe('HTTP client metrics', () => {
  it('counts every call once per (server, method, status, error) for fetch, http and https', async () => {
    app = await spawnApp(fixture('http-client.mjs'), { env: { NODE_EXTRA_CA_CERTS: cert }, nodeArgs: ['--expose-gc', '--import', '@mon/register'] });
    const closed = await freePort();
    const local = `http://127.0.0.1:${plainPort}`;
    const secure = `https://localhost:${tlsPort}`;

    for (let i = 0; i < 3; i++) expect(await call({ client: 'fetch', url: `${local}/ok` })).toEqual({ ok: 200 });
    expect(await call({ client: 'fetch', url: `${local}/status?code=503`, method: 'POST' })).toEqual({ ok: 503 });
    expect(await call({ client: 'fetch', url: `${local}/status?code=404` })).toEqual({ ok: 404 });
    // A redirect: one series per hop.
    expect(await call({ client: 'fetch', url: `${local}/redirect` })).toEqual({ ok: 200 });
    // Bodies the app never reads: fetch buffers a small one in full; a big one ends when the
    // Response is garbage collected (undici then cancels it).
    expect(await call({ client: 'fetch', url: `${local}/ok`, mode: 'unread' })).toEqual({ ok: 200 });
    expect(await call({ client: 'fetch', url: `${local}/big`, mode: 'gc' })).toEqual({ ok: 200 });
    expect(await call({ client: 'fetch', url: `${local}/slow`, mode: 'timeout', ms: 50 })).toEqual({ error: 'TimeoutError' });
    expect(await call({ client: 'fetch', url: `${local}/slow`, mode: 'abort', ms: 50 })).toEqual({ error: 'AbortError' });
    expect(await call({ client: 'fetch', url: `${local}/reset` })).toEqual({ error: 'UND_ERR_SOCKET' });
    expect(await call({ client: 'fetch', url: `http://127.0.0.1:${closed}/` })).toEqual({ error: 'ECONNREFUSED' });
    const dns = await call({ client: 'fetch', url: 'http://nothing.invalid/' });
    expect(dns.error).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    expect(await call({ client: 'fetch', url: `${secure}/ok` })).toEqual({ ok: 200 });

    for (let i = 0; i < 2; i++) expect(await call({ client: 'http', url: `${local}/ok` })).toEqual({ ok: 200 });
    expect(await call({ client: 'http', url: `${local}/ok`, method: 'PUT' })).toEqual({ ok: 200 });
    expect(await call({ client: 'http', url: `${local}/status?code=500`, method: 'DELETE' })).toEqual({ ok: 500 });
    expect(await call({ client: 'http', url: `${local}/ok`, method: 'PROPFIND' })).toEqual({ ok: 200 });
    expect(await call({ client: 'http', url: `${local}/ok`, mode: 'unread' })).toEqual({ ok: 'closed' });
    expect(await call({ client: 'http', url: `${local}/big`, mode: 'hold', ms: 50 })).toEqual({ ok: 200 });
    expect(await call({ client: 'http', url: `${local}/slow`, mode: 'abort', ms: 50 })).toEqual({ error: 'AbortError' });
    expect(await call({ client: 'http', url: `${local}/slow`, mode: 'destroy', ms: 50 })).toEqual({ error: 'ECONNRESET' });
    expect(await call({ client: 'http', url: `${local}/reset` })).toEqual({ error: 'ECONNRESET' });
    expect(await call({ client: 'http', url: `http://127.0.0.1:${closed}/` })).toEqual({ error: 'ECONNREFUSED' });
    expect((await call({ client: 'http', url: 'http://nothing.invalid/' })).error).toBe(dns.error);
    for (let i = 0; i < 2; i++) expect(await call({ client: 'http', url: `${secure}/ok` })).toEqual({ ok: 200 });
    // An upgrade ends the call: the socket's later life is not HTTP.
    expect(await call({ client: 'http', url: `${local}/ws`, mode: 'upgrade' })).toEqual({ ok: 101 });

    const expected = new Map([
      // fetch: 3 read, the redirect's second hop, 1 unread; http: 2 read, 1 unread.
      [calls('GET', '127.0.0.1', plainPort, 'http', 200), 3 + 1 + 1 + 2 + 1],
      [calls('POST', '127.0.0.1', plainPort, 'http', 503, '503'), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', 404, '404'), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', 302), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', 200, '_OTHER'), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', undefined, 'TimeoutError'), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', undefined, 'AbortError'), 2],
      [calls('GET', '127.0.0.1', plainPort, 'http', undefined, 'UND_ERR_SOCKET'), 1],
      [calls('GET', '127.0.0.1', closed, 'http', undefined, 'ECONNREFUSED'), 2],
      [calls('GET', 'nothing.invalid', 80, 'http', undefined, dns.error!), 2],
      [calls('GET', 'localhost', tlsPort, 'https', 200), 3],
      [calls('PUT', '127.0.0.1', plainPort, 'http', 200), 1],
      [calls('DELETE', '127.0.0.1', plainPort, 'http', 500, '500'), 1],
      [calls('_OTHER', '127.0.0.1', plainPort, 'http', 200), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', 200, 'aborted'), 1],
      [calls('GET', '127.0.0.1', plainPort, 'http', undefined, 'ECONNRESET'), 2],
      [calls('GET', '127.0.0.1', plainPort, 'http', 101), 1],
    ]);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const text = await scrapeUntil((t) => {
      const counted = [...seriesOf(t, 'http_client_request_duration_seconds_count').values()].reduce((a, b) => a + b, 0);
      return counted >= total && allIdle(t);
    });
    expect(Object.fromEntries(seriesOf(text, 'http_client_request_duration_seconds_count'))).toEqual(Object.fromEntries(expected));
    // Nothing left in flight, and one active-requests series per (method, target) ever called.
    const active = seriesOf(text, 'http_client_active_requests');
    expect([...active.values()].every((v) => v === 0)).toBe(true);
    expect(active.get(key({ http_request_method: 'GET', server_address: 'localhost', server_port: tlsPort, url_scheme: 'https' }))).toBe(0);
    // No path, query or header value ever becomes a label.
    const clientLines = text.split('\n').filter((l) => l.startsWith('http_client_'));
    expect(clientLines.filter((l) => /\?|\/ok|\/status|\/redirect|\/slow|\/big|\/ws/.test(l))).toEqual([]);
    expect(app.stderr()).toBe('');
  });

  it('counts calls in flight as active, and ends each when its response ends', async () => {
    app = await spawnApp(fixture('http-client.mjs'));
    // So that the scrapes below have the calls' whole 2 s to see them in flight.
    await waitForEndpoint(app.metricsPort);
    const local = `http://127.0.0.1:${plainPort}`;
    const pending = [call({ client: 'fetch', url: `${local}/slow` }), call({ client: 'http', url: `${local}/slow`, method: 'POST' })];
    const target = { server_address: '127.0.0.1', server_port: plainPort, url_scheme: 'http' };
    const during = await scrapeUntil((t) => seriesOf(t, 'http_client_active_requests').size === 2);
    expect(Object.fromEntries(seriesOf(during, 'http_client_active_requests'))).toEqual({
      [key({ http_request_method: 'GET', ...target })]: 1,
      [key({ http_request_method: 'POST', ...target })]: 1,
    });
    expect(await Promise.all(pending)).toEqual([{ ok: 200 }, { ok: 200 }]);
    const after = await scrapeUntil(allIdle);
    expect([...seriesOf(after, 'http_client_active_requests').values()]).toEqual([0, 0]);
    // Both took the upstream's 2 s: the duration runs to the body's end.
    expect(Number(seriesOf(after, 'http_client_request_duration_seconds_sum').get(calls('GET', '127.0.0.1', plainPort, 'http', 200)))).toBeGreaterThan(1.9);
  });

  it('keeps memory bounded for a proxy calling 10 000 distinct hosts: the first MON_MAX_CLIENT_HOSTS, then _OTHER, one warning', async () => {
    app = await spawnApp(fixture('http-client.mjs'), { env: { MON_MAX_CLIENT_HOSTS: '50' } });
    const before = (await scrape(app.metricsPort)).body.length;
    expect(before).toBeGreaterThan(0);
    const reply = JSON.parse((await request(app.port, `/fanout?n=10000&port=${plainPort}`)).body);
    expect(reply).toEqual({ ok: 10_000 });
    const text = await scrapeUntil(allIdle);
    const counts = seriesOf(text, 'http_client_request_duration_seconds_count');
    const addresses = new Set([...counts.keys()].map((k) => /server_address=(\S+)/.exec(k)![1]));
    expect(addresses.size).toBe(51);
    expect(counts.get(key({ http_request_method: 'GET', server_address: '_OTHER', url_scheme: 'http', http_response_status_code: 200 }))).toBe(10_000 - 50);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    const warnings = app.stderr().split('\n').filter((l) => l.includes('MON_TOO_MANY_HOSTS'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('MON_MAX_CLIENT_HOSTS');
  }, 60_000);

  // Issue 24: error types taken from the status skipped the cap (one upstream answering 896
  // statuses made 896 values).
  it('error_type from a status counts against the 64 cap; a status outside the registered ones is _OTHER', async () => {
    app = await spawnApp(fixture('http-client.mjs'));
    const statuses = Array.from({ length: 600 }, (_, i) => 400 + i);
    const reply = JSON.parse((await request(app.port, `/fanout?names=one.test&port=${plainPort}&statuses=${statuses.join(',')}`)).body);
    expect(reply).toEqual({ ok: 600 });
    const text = await scrapeUntil(allIdle);
    const series = [...seriesOf(text, 'http_client_request_duration_seconds_count').keys()].map((k) => Object.fromEntries(k.split(' ').map((kv) => kv.split('='))));
    const errorTypes = new Set(series.map((labels) => labels.error_type));
    console.log(`${series.length} series, ${errorTypes.size} error_type values`);
    expect(errorTypes.size).toBeLessThanOrEqual(64);
    const errorTypeOf = (status: number) => series.find((labels) => labels.http_response_status_code === String(status))?.error_type;
    expect(errorTypeOf(404)).toBe('404');
    expect(errorTypeOf(503)).toBe('503');
    for (const unregistered of [418, 499, 599, 600, 999]) expect(errorTypeOf(unregistered), String(unregistered)).toBe('_OTHER');
  }, 60_000);

  it('names a node:http host as fetch does (lower case, punycode): one host, one target', async () => {
    app = await spawnApp(fixture('http-client.mjs'));
    const names = ['bücher.example', 'BÜCHER.Example', 'UPPER.Example', 'upper.example'];
    const reply = JSON.parse((await request(app.port, `/fanout?names=${encodeURIComponent(names.join(','))}&port=${plainPort}`)).body);
    expect(reply).toEqual({ ok: 4 });
    const text = await scrapeUntil(allIdle);
    const counts = seriesOf(text, 'http_client_request_duration_seconds_count');
    // What fetch would label them: the URL parser's host.
    const asFetch = (name: string) => new URL(`http://${name}/`).hostname;
    expect(asFetch('BÜCHER.Example')).toBe('xn--bcher-kva.example');
    expect(counts.get(calls('GET', asFetch('bücher.example'), plainPort, 'http', 200))).toBe(2);
    expect(counts.get(calls('GET', asFetch('UPPER.Example'), plainPort, 'http', 200))).toBe(2);
    expect(counts.size).toBe(2);
  }, 60_000);

  it("never counts mon's own OTLP exports or the scrapes of its endpoint as the app's calls", async () => {
    receiver = await startReceiver();
    app = await spawnApp(fixture('http-client.mjs'), {
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
        OTEL_METRIC_EXPORT_INTERVAL: '100',
      },
    });
    expect(await call({ client: 'fetch', url: `http://127.0.0.1:${plainPort}/ok` })).toEqual({ ok: 200 });
    const deadline = Date.now() + 5_000;
    while (receiver.received.length < 3 && Date.now() < deadline) await sleep(50);
    expect(receiver.received.length).toBeGreaterThanOrEqual(3);
    const text = (await scrape(app.metricsPort)).body;
    expect(Object.fromEntries(seriesOf(text, 'http_client_request_duration_seconds_count'))).toEqual({
      [calls('GET', '127.0.0.1', plainPort, 'http', 200)]: 1,
    });
  });

  it("counts an installed undici's calls too: it publishes on the same channels as Node's own copy", async () => {
    app = await spawnApp(fixture('http-client.mjs'));
    const closed = await freePort();
    for (let i = 0; i < 3; i++) expect(await call({ client: 'undici', url: `http://127.0.0.1:${plainPort}/ok` })).toEqual({ ok: 200 });
    expect(await call({ client: 'undici', url: `http://127.0.0.1:${plainPort}/status?code=201`, method: 'POST' })).toEqual({ ok: 201 });
    expect(await call({ client: 'undici', url: `http://127.0.0.1:${closed}/` })).toEqual({ error: 'ECONNREFUSED' });
    const text = await scrapeUntil((t) => seriesOf(t, 'http_client_request_duration_seconds_count').size === 3 && allIdle(t));
    expect(Object.fromEntries(seriesOf(text, 'http_client_request_duration_seconds_count'))).toEqual({
      [calls('GET', '127.0.0.1', plainPort, 'http', 200)]: 3,
      [calls('POST', '127.0.0.1', plainPort, 'http', 201)]: 1,
      [calls('GET', '127.0.0.1', closed, 'http', undefined, 'ECONNREFUSED')]: 1,
    });
  });

  it('adds up the calls of node:cluster workers on the primary', async () => {
    app = await spawnApp(fixture('two-workers.mjs'), { env: { WORKER_APP: 'http-client.mjs' } });
    // Fresh connections: the primary hands them to the workers in turn.
    const pids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const reply = await request(app.port, `/call?client=${i % 2 ? 'fetch' : 'http'}&url=${encodeURIComponent(`http://127.0.0.1:${plainPort}/ok`)}`);
      expect(JSON.parse(reply.body)).toEqual({ ok: 200 });
      pids.add(String(reply.headers['x-pid']));
    }
    // Both workers made calls: the primary had two processes' calls to add.
    expect(pids.size).toBe(2);
    const text = await scrapeUntil((t) => seriesOf(t, 'http_client_request_duration_seconds_count').get(calls('GET', '127.0.0.1', plainPort, 'http', 200)) === 10);
    expect(Object.fromEntries(seriesOf(text, 'http_client_request_duration_seconds_count'))).toEqual({
      [calls('GET', '127.0.0.1', plainPort, 'http', 200)]: 10,
    });
    expect([...seriesOf(text, 'http_client_active_requests').values()]).toEqual([0]);
    expect(seriesOf(text, 'http_server_requests_total').size).toBeGreaterThan(0);
  });

  it('records nothing when MON_METRICS leaves http-client out', async () => {
    app = await spawnApp(fixture('http-client.mjs'), { env: { MON_METRICS: 'http' } });
    expect(await call({ client: 'fetch', url: `http://127.0.0.1:${plainPort}/ok` })).toEqual({ ok: 200 });
    const text = (await scrape(app.metricsPort)).body;
    expect(text).toContain('http_server_requests_total');
    expect(text).not.toContain('http_client_');
  });
});
