// Real example apps under `node --import @mon/register`, real traffic, the real endpoint.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { abortedRequest, example, fixture, parseLabels, request, sample, scrape, sleep, spawnApp, sumSamples, waitForEndpoint, type App } from './helpers.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const apps = [
  { name: 'plain http, ESM', script: example('http-esm/server.mjs'), service: 'example-http-esm', custom: true },
  { name: 'plain http, CommonJS', script: example('http-cjs/server.cjs'), service: 'example-http-cjs', custom: true },
  { name: 'express 5', script: example('express/server.cjs'), service: 'example-express', custom: false },
];

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

describe.each(apps)('HTTP server metrics: $name', ({ script, service, custom }) => {
  it('counts every request once, by method and the status actually sent', async () => {
    app = await spawnApp(script);
    const sends: Array<[string, string, number]> = [
      ...Array.from({ length: 5 }, (): [string, string, number] => ['GET', '/', 200]),
      ...Array.from({ length: 3 }, (_, i): [string, string, number] => ['GET', `/missing/${i}`, 404]),
      ...Array.from({ length: 2 }, (): [string, string, number] => ['GET', '/fail', 500]),
      ['DELETE', '/users/42', 404],
      ['PROPFIND', '/', 404],
    ];
    for (const [method, path, status] of sends) {
      const reply = await request(app.port, path, { method });
      if (method === 'GET') expect(reply.status).toBe(status);
    }
    // Two clients that give up before the response: counted once each, with error.type, no status.
    await Promise.all([abortedRequest(app.port, '/slow?ms=3000', 100), abortedRequest(app.port, '/slow?ms=3000', 100)]);

    const text = (
      await waitFor(
        () => scrape(app!.metricsPort),
        (r) => sample(r.body, 'http_server_requests_total', { error_type: 'aborted' }) === 2,
      )
    ).body;
    const get = { http_request_method: 'GET', url_scheme: 'http' };
    expect(sample(text, 'http_server_requests_total', { ...get, http_response_status_code: '200' })).toBe(5);
    expect(sample(text, 'http_server_requests_total', { ...get, http_response_status_code: '404' })).toBe(3);
    expect(sample(text, 'http_server_requests_total', { ...get, http_response_status_code: '500', error_type: '500' })).toBe(2);
    // Methods outside the known set collapse to _OTHER rather than becoming new label values.
    expect(sumSamples(text, 'http_server_requests_total', { http_request_method: '_OTHER' })).toBe(1);
    expect(text).not.toContain('PROPFIND');
    expect(sumSamples(text, 'http_server_requests_total', { http_request_method: 'DELETE' })).toBe(1);
    const aborted = sample(text, 'http_server_requests_total', { ...get, error_type: 'aborted' });
    expect(aborted).toBe(2);
    expect(text).toMatch(/http_server_requests_total\{[^}]*error_type="aborted"[^}]*\}/);
    expect(text).not.toMatch(/http_server_requests_total\{[^}]*http_response_status_code="[^"]*"[^}]*error_type="aborted"/);
    // 5 + 3 + 2 GET, 2 aborted GET, 1 DELETE, 1 _OTHER.
    expect(sumSamples(text, 'http_server_requests_total')).toBe(14);
    expect(sumSamples(text, 'http_server_request_duration_seconds_count')).toBe(14);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...get, http_response_status_code: '200', le: '+Inf' })).toBe(5);
    // Nothing left in flight once every response closed, aborted ones included.
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
    // Raw paths and ids never become label values.
    const labels = text
      .split('\n')
      .filter((line) => line.startsWith('http_'))
      .map((line) => parseLabels(line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'))));
    // Routes are templates of the app's own routes (Express publishes them; plain http has none).
    const routes = new Set(labels.map((l) => l.http_route).filter((r) => r !== undefined));
    expect([...routes].every((r) => ['/', '/fail', '/slow'].includes(r!))).toBe(true);
    const labelValues = labels.flatMap(({ http_route: _route, ...rest }) => Object.values(rest));
    expect(labelValues.filter((v) => /missing|users|42|slow|\//.test(v))).toEqual([]);

    expect(sample(text, 'target_info', { service_name: service })).toBe(1);
    if (custom) {
      await request(app.port, '/order?pay=card');
      expect(sample((await scrape(app.metricsPort)).body, 'shop_orders_total', { shop_payment: 'card' })).toBe(1);
    }
  });

  it('times the whole response and never counts its own scrapes', async () => {
    app = await spawnApp(script);
    await request(app.port, '/slow?ms=300');
    const first = (await scrape(app.metricsPort)).body;
    const second = (await scrape(app.metricsPort)).body;
    const labels = { http_request_method: 'GET', http_response_status_code: '200' };
    expect(sumSamples(second, 'http_server_requests_total')).toBe(1);
    expect(sumSamples(first, 'http_server_requests_total')).toBe(1);
    const sum = sample(second, 'http_server_request_duration_seconds_sum', labels)!;
    expect(sum).toBeGreaterThanOrEqual(0.29);
    expect(sum).toBeLessThan(2);
    expect(sample(second, 'http_server_request_duration_seconds_bucket', { ...labels, le: '0.25' })).toBe(0);
    // 300 ms asked; a loaded machine adds its lateness, so the next bound but one.
    expect(sample(second, 'http_server_request_duration_seconds_bucket', { ...labels, le: '1.0' })).toBe(1);
  });

  it('shows a request in flight as active until it finishes', async () => {
    app = await spawnApp(script);
    // So that the polls below have the whole 1.5 s to see the request in flight.
    await waitForEndpoint(app.metricsPort);
    const slow = request(app.port, '/slow?ms=1500');
    const during = await waitFor(
      () => scrape(app!.metricsPort),
      (r) => sumSamples(r.body, 'http_server_active_requests') === 1,
    );
    expect(sample(during.body, 'http_server_active_requests', { http_request_method: 'GET', url_scheme: 'http' })).toBe(1);
    await slow;
    const after = await waitFor(
      () => scrape(app!.metricsPort),
      (r) => sumSamples(r.body, 'http_server_active_requests') === 0,
    );
    expect(sumSamples(after.body, 'http_server_active_requests')).toBe(0);
    expect(sumSamples(after.body, 'http_server_requests_total')).toBe(1);
  });
});

describe('requests in flight', () => {
  it('answers pipelined requests in order, each counted once with its own status and duration', async () => {
    // Three requests in one packet on one connection: Node answers them in order, the second and
    // third waiting behind the first. Each is timed from its own arrival to its own answer, counted
    // once when answered (not when the connection closes), and nothing is left in flight.
    app = await spawnApp(example('http-esm/server.mjs'));
    const socket = net.connect(app.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.setEncoding('utf8').on('data', (d: string) => (received += d));
    socket.write(
      'GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /fail HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' +
        'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const deadline = Date.now() + 10_000;
    while (!received.endsWith('hello\n') && Date.now() < deadline) await sleep(20);
    expect(received.match(/^HTTP\/1\.1 \d+/gm)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 500', 'HTTP/1.1 200']);
    // The connection stays open: the requests were counted when answered.
    const text = (
      await waitFor(
        () => scrape(app!.metricsPort),
        (r) => sumSamples(r.body, 'http_server_requests_total') === 3,
      )
    ).body;
    const get = { http_request_method: 'GET', http_response_status_code: '200' };
    const post = { http_request_method: 'POST', http_response_status_code: '500' };
    expect(sample(text, 'http_server_requests_total', get)).toBe(2);
    expect(sample(text, 'http_server_requests_total', post)).toBe(1);
    expect(sumSamples(text, 'http_server_requests_total')).toBe(3);
    expect(text).not.toContain('error_type="aborted"');
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
    // All three waited for the first one's 1.5 s (a timer can fire early by however long the event
    // loop's turn had been running when it was set: hence 1 s, not 1.5); none took anywhere near 10 s.
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...get, le: '1.0' })).toBe(0);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...post, le: '1.0' })).toBe(0);
    expect(sample(text, 'http_server_request_duration_seconds_sum', get)).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'http_server_request_duration_seconds_sum', get)).toBeLessThan(10);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...get, le: '10.0' })).toBe(2);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...post, le: '10.0' })).toBe(1);
    // Closing the connection afterwards ends nothing a second time.
    socket.destroy();
    const after = await waitFor(
      () => scrape(app!.metricsPort),
      (r) => sumSamples(r.body, 'http_server_requests_total') !== 3,
      500,
    );
    expect(sumSamples(after.body, 'http_server_requests_total')).toBe(3);
    expect(sumSamples(after.body, 'http_server_active_requests')).toBe(0);
  });

  it('ends pipelined requests whose client went away before they were answered', async () => {
    // Node never emits anything on a response still queued behind another on its socket: only
    // the socket's 'close' ends them, or they would stay "active" forever.
    app = await spawnApp(example('http-esm/server.mjs'));
    const socket = net.connect(app.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3));
    const during = await waitFor(
      () => scrape(app!.metricsPort),
      (r) => sumSamples(r.body, 'http_server_active_requests') === 3,
    );
    expect(sumSamples(during.body, 'http_server_active_requests')).toBe(3);
    socket.destroy();
    const after = await waitFor(
      () => scrape(app!.metricsPort),
      (r) => sumSamples(r.body, 'http_server_active_requests') === 0,
    );
    expect(sumSamples(after.body, 'http_server_active_requests')).toBe(0);
    expect(sample(after.body, 'http_server_requests_total', { http_request_method: 'GET', error_type: 'aborted' })).toBe(3);
    expect(sumSamples(after.body, 'http_server_requests_total')).toBe(3);
  });

  it('keeps the start times of 600 concurrent requests apart', async () => {
    // More requests in flight than the first start-time table holds (256): it grows, and each
    // request keeps its own start time through the growth and the reuse of freed slots.
    app = await spawnApp(example('http-esm/server.mjs'));
    const port = app.port;
    const round = () =>
      Promise.all(Array.from({ length: 600 }, (_, i) => request(port, `/slow?ms=${i % 2 === 0 ? 100 : 1100}`)));
    await round();
    await round();
    const text = (await scrape(app.metricsPort)).body;
    const get = { http_request_method: 'GET', http_response_status_code: '200' };
    expect(sample(text, 'http_server_request_duration_seconds_count', get)).toBe(1200);
    // The fast half waited 100 ms, the slow half 1100 ms: apart at the 1 s bucket (a loaded machine
    // delayed some of the fast half past 0.5 s, so that is the tightest bound that holds).
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...get, le: '0.075' })).toBe(0);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...get, le: '1.0' })).toBe(600);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...get, le: '2.5' })).toBe(1200);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
  });
});

describe('the exposition', () => {
  it('uses Prometheus names and types, text 0.0.4 by default and OpenMetrics when asked', async () => {
    app = await spawnApp(example('http-esm/server.mjs'));
    await request(app.port, '/');
    const text = await scrape(app.metricsPort);
    expect(text.status).toBe(200);
    expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body).toContain('# TYPE http_server_request_duration_seconds histogram');
    expect(text.body).toContain('# TYPE http_server_requests_total counter');
    expect(text.body).toContain('# TYPE http_server_active_requests gauge');
    // No otel_scope_* labels on every series unless asked for.
    expect(text.body).not.toContain('otel_scope_');
    // target_info carries the resource, never the command line.
    expect(text.body).toMatch(/target_info\{[^}]*process_runtime_name="nodejs"/);
    expect(text.body).not.toContain('server.mjs');

    const om = await scrape(app.metricsPort, 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
    expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body).toContain('# TYPE http_server_requests counter');
    expect(om.body).toMatch(/^http_server_requests_total\{/m);
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    // Only RFC 9110 qvalues weigh (issue 24): `Infinity` and `0x1` were read as weights above text's.
    for (const q of ['Infinity', '0x1']) {
      const odd = await scrape(app.metricsPort, `application/openmetrics-text;version=1.0.0;q=${q},text/plain;version=0.0.4;q=0.5`);
      expect(odd.headers['content-type'], q).toBe('text/plain; version=0.0.4; charset=utf-8');
    }

    const head = await request(app.metricsPort, '/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await request(app.metricsPort, '/other')).status).toBe(404);
  });
});
