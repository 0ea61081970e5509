import { spawn } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { PrometheusReader, type PrometheusReaderOptions } from '../src/reader.js';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A reader on a free loopback port, registered with its own MeterProvider holding one counter. */
async function start(options: PrometheusReaderOptions = {}) {
  const reader = new PrometheusReader({ host: '127.0.0.1', port: 0, ...options });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'reader-test' }),
    readers: [reader],
  });
  cleanups.push(() => provider.shutdown());
  provider.getMeter('test').createCounter('http.server.requests', { unit: '{request}' }).add(7, { 'http.request.method': 'GET' });
  await reader.ready;
  const { port } = reader.address()!;
  return { reader, provider, port, url: `http://127.0.0.1:${port}` };
}

async function portInUse(): Promise<{ port: number; close: () => Promise<void> }> {
  const blocker = net.createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const { port } = blocker.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => blocker.close(() => resolve())) };
}

describe('PrometheusReader', () => {
  it('serves text 0.0.4 by default', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(TEXT);
    const body = await response.text();
    expect(body).toContain('# TYPE http_server_requests_total counter\n');
    expect(body).toContain('http_server_requests_total{http_request_method="GET"} 7\n');
    expect(body).toContain('target_info{service_name="reader-test"} 1\n');
    expect(body).not.toContain('otel_scope_name');
    expect(body).not.toContain('# EOF');
  });

  it('serves OpenMetrics when the Accept header asks for it', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(response.headers.get('content-type')).toBe(OPENMETRICS);
    const body = await response.text();
    expect(body).toContain('# TYPE http_server_requests counter\n');
    expect(body).toContain('http_server_requests_total{http_request_method="GET"} 7\n');
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('serves text when text is preferred', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`, {
      headers: { accept: 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5' },
    });
    expect(response.headers.get('content-type')).toBe(TEXT);
    await response.text();
  });

  it('answers HEAD with the headers only', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`, { method: 'HEAD', headers: { accept: PROMETHEUS_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(OPENMETRICS);
    expect(await response.text()).toBe('');
  });

  it('answers 404 elsewhere and 405 for other methods, and ignores the query string', async () => {
    const { url } = await start();
    const missing = await fetch(`${url}/other`);
    expect(missing.status).toBe(404);
    await missing.text();
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.text();
    const withQuery = await fetch(`${url}/metrics?debug=1`);
    expect(withQuery.status).toBe(200);
    await withQuery.text();
  });

  it('serves a custom endpoint and the scope labels when asked', async () => {
    const { url } = await start({ endpoint: '/prom', withScopeLabels: true, withTargetInfo: false });
    const response = await fetch(`${url}/prom`);
    const body = await response.text();
    expect(body).toContain('http_server_requests_total{http_request_method="GET",otel_scope_name="test"} 7\n');
    expect(body).not.toContain('target_info');
    const old = await fetch(`${url}/metrics`);
    expect(old.status).toBe(404);
    await old.text();
  });

  it('offers other paths to a fallback on the same server, and keeps 404 and 405 otherwise', async () => {
    const seen: string[] = [];
    const { url } = await start({
      fallback: (req, res) => {
        seen.push(`${req.method} ${req.url}`);
        if (req.url !== '/') return false;
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<p>page</p>');
        return true;
      },
    });
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<p>page</p>');
    const missing = await fetch(`${url}/other`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('Not Found\n');
    // The metrics endpoint stays the reader's: the fallback never sees it.
    const metrics = await fetch(`${url}/metrics`);
    expect(await metrics.text()).toContain('http_server_requests_total');
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    await post.text();
    expect(seen).toEqual(['GET /', 'GET /other']);
  });

  it('answers 500 and keeps serving when the fallback throws', async () => {
    const { url } = await start({
      fallback: () => {
        throw new Error('fallback failed');
      },
    });
    const broken = await fetch(`${url}/`);
    expect(broken.status).toBe(500);
    await broken.text();
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    await metrics.text();
  });

  it('serves what was collected when a callback throws', async () => {
    const warnings: string[] = [];
    const { url, provider } = await start({ warn: (code) => warnings.push(code) });
    provider
      .getMeter('test')
      .createObservableGauge('broken')
      .addCallback(() => {
        throw new Error('callback failed');
      });
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('http_server_requests_total');
    expect(warnings).toEqual(['MON_CALLBACK_FAILED']);
  });

  it('answers 500 when collection fails, and keeps serving', async () => {
    // Not registered with a MeterProvider: collect() rejects.
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => reader.shutdown());
    await reader.ready;
    const url = `http://127.0.0.1:${reader.address()!.port}/metrics`;
    const first = await fetch(url);
    expect(first.status).toBe(500);
    expect(await first.text()).toBe('Metrics collection failed\n');
    expect((await fetch(url)).status).toBe(500);
  });

  it('runs one collection for scrapes that arrive together', async () => {
    const { url, provider } = await start();
    let calls = 0;
    provider
      .getMeter('test')
      .createObservableGauge('slow')
      .addCallback(async (result) => {
        calls++;
        // Long enough that all three scrapes arrive while it runs, on a loaded machine too.
        await new Promise((resolve) => setTimeout(resolve, 500));
        result.observe(1);
      });
    const bodies = await Promise.all([1, 2, 3].map(() => fetch(`${url}/metrics`).then((r) => r.text())));
    expect(calls).toBe(1);
    for (const body of bodies) expect(body).toContain('slow 1\n');
  });

  it('offers collectText for embedding in the app server', async () => {
    const { reader } = await start();
    const text = await reader.collectText();
    expect(text.contentType).toBe(TEXT);
    expect(text.body).toContain('http_server_requests_total');
    const om = await reader.collectText(PROMETHEUS_ACCEPT);
    expect(om.contentType).toBe(OPENMETRICS);
    expect(om.body.endsWith('# EOF\n')).toBe(true);
  });

  /** `count` counter series with long label values: a body of several chunks. */
  async function large(count = 1900) {
    const started = await start();
    const counter = started.provider.getMeter('test').createCounter('jobs');
    for (let i = 0; i < count; i++) counter.add(i, { queue: `a-rather-long-queue-name-to-fill-the-exposition-${i}` });
    const expected = (await started.reader.collectText()).body;
    expect(expected.length).toBeGreaterThan(100_000);
    return { ...started, expected };
  }

  /** Undoes the chunked framing of a raw HTTP/1.1 response: the body and how many chunks carried it. */
  function unchunk(raw: string): { head: string; body: string; pieces: number; terminated: boolean } {
    const [head, ...rest] = raw.split('\r\n\r\n');
    let chunked = Buffer.from(rest.join('\r\n\r\n'), 'latin1');
    const parts: Buffer[] = [];
    for (;;) {
      const eol = chunked.indexOf('\r\n');
      if (eol === -1) return { head: head!, body: Buffer.concat(parts).toString('utf8'), pieces: parts.length, terminated: false };
      const size = parseInt(chunked.subarray(0, eol).toString('latin1'), 16);
      if (size === 0) return { head: head!, body: Buffer.concat(parts).toString('utf8'), pieces: parts.length, terminated: true };
      parts.push(chunked.subarray(eol + 2, eol + 2 + size));
      chunked = chunked.subarray(eol + 2 + size + 2);
    }
  }

  it('streams a large exposition in chunks, whole even to a client that pauses reading', async () => {
    const { port, expected } = await large();
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => {
      received.push(data);
      if (received.length === 1) {
        socket.pause();
        setTimeout(() => socket.resume(), 300);
      }
    });
    await once(socket, 'end');
    const { head, body, pieces, terminated } = unchunk(Buffer.concat(received).toString('latin1'));
    expect(head).toMatch(/^HTTP\/1.1 200/);
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    expect(pieces).toBeGreaterThan(1);
    expect(terminated).toBe(true);
    expect(body).toBe(expected);
  });

  it('finishes the body for a client that half-closes after its request', async () => {
    // Node ends such a connection as soon as the request is read, unless told otherwise: the
    // chunks still to come were lost (131 of 146 KB arrived, the chunked body never terminated).
    const { port, expected } = await large();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(socket, 'connect');
    socket.end('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    await once(socket, 'close');
    const { body, terminated } = unchunk(Buffer.concat(received).toString('latin1'));
    expect(terminated).toBe(true);
    expect(body).toBe(expected);
  });

  it('sends a small exposition in one piece, with a Content-Length', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`);
    const body = await response.text();
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(response.headers.get('transfer-encoding')).toBeNull();
  });

  it('runs the collections of /metrics?peek=1 through the peek option, and only those', async () => {
    const calls: string[] = [];
    const { url } = await start({
      peek: (collect) => {
        calls.push('peek');
        return collect();
      },
    });
    await (await fetch(`${url}/metrics`)).text();
    expect(calls).toEqual([]);
    const peeked = await fetch(`${url}/metrics?peek=1`);
    expect(peeked.status).toBe(200);
    expect(await peeked.text()).toContain('http_server_requests_total{http_request_method="GET"} 7\n');
    expect(calls).toEqual(['peek']);
    await (await fetch(`${url}/metrics?format=x&peek=1`)).text();
    await (await fetch(`${url}/metrics?peek=10`)).text();
    expect(calls).toEqual(['peek', 'peek']);
  });

  it('never lets a peek and a scrape share or overlap a collection; peeks share theirs', async () => {
    let peeking = false;
    let peeks = 0;
    const { provider, url } = await start({
      peek: (collect) => {
        peeks++;
        peeking = true;
        try {
          return collect();
        } finally {
          peeking = false;
        }
      },
    });
    // A slow callback (a network filesystem's can be): collections would overlap without the rule.
    provider
      .getMeter('test')
      .createObservableGauge('peeked')
      .addCallback(async (result) => {
        result.observe(peeking ? 1 : 0);
        await new Promise((resolve) => setTimeout(resolve, 30));
      });
    const peeked = async (path: string) => /^peeked (\d)$/m.exec(await (await fetch(`${url}${path}`)).text())?.[1];
    const [scrape, peekA, peekB, scrape2] = await Promise.all([
      peeked('/metrics'),
      peeked('/metrics?peek=1'),
      peeked('/metrics?peek=1'),
      peeked('/metrics'),
    ]);
    expect([scrape, peekA, peekB, scrape2]).toEqual(['0', '1', '1', '0']);
    expect(peeks).toBe(1);
  });

  it('marks its server so HTTP server metrics can skip scrapes', async () => {
    const servers: unknown[] = [];
    const onStart = (message: unknown) => servers.push((message as { server: unknown }).server);
    dc.subscribe('http.server.request.start', onStart);
    try {
      const { url } = await start();
      await (await fetch(`${url}/metrics`)).text();
    } finally {
      dc.unsubscribe('http.server.request.start', onStart);
    }
    expect(servers.length).toBeGreaterThan(0);
    for (const server of servers) {
      expect((server as Record<symbol, unknown>)[Symbol.for('mon.telemetry-server')]).toBe(true);
    }
  });

  it('reports a busy port to onServerError and does not throw', async () => {
    const blocker = await portInUse();
    cleanups.push(blocker.close);
    const errors: NodeJS.ErrnoException[] = [];
    const reader = new PrometheusReader({ host: '127.0.0.1', port: blocker.port, onServerError: (e) => errors.push(e) });
    await expect(reader.ready).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(errors.map((e) => e.code)).toEqual(['EADDRINUSE']);
    expect(reader.address()).toBeUndefined();
    await reader.shutdown();
  });

  it('reports a bad port or host to onServerError', async () => {
    const errors: string[] = [];
    const onServerError = (e: NodeJS.ErrnoException) => errors.push(String(e.code));
    const badPort = new PrometheusReader({ port: 70_000, onServerError });
    await expect(badPort.ready).rejects.toThrow();
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine.
    const badHost = new PrometheusReader({ host: '192.0.2.1', port: 0, onServerError });
    await expect(badHost.ready).rejects.toThrow();
    expect(errors).toEqual(['ERR_SOCKET_BAD_PORT', 'EADDRNOTAVAIL']);
  });

  it('warns once, by default, naming the port, the cause and the fix', async () => {
    const blocker = await portInUse();
    cleanups.push(blocker.close);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const reader = new PrometheusReader({ host: '127.0.0.1', port: blocker.port });
      await reader.ready.catch(() => {});
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    // The preload's code for the same failure: one code however mon runs.
    expect(warnings[0]).toMatchObject({ name: 'MonWarning', code: 'MON_METRICS_PORT' });
    expect(warnings[0]!.message).toContain(`127.0.0.1:${blocker.port}`);
    expect(warnings[0]!.message).toContain('in use');
    expect(warnings[0]!.message).toContain('OTEL_EXPORTER_PROMETHEUS_PORT');
  });

  it('says a port it cannot listen on through the warn it is given, when no onServerError is', async () => {
    const blocker = await portInUse();
    cleanups.push(blocker.close);
    const warnings: Array<[string, string]> = [];
    const reader = new PrometheusReader({ host: '127.0.0.1', port: blocker.port, warn: (code, message) => warnings.push([code, message]) });
    await reader.ready.catch(() => {});
    expect(warnings).toEqual([
      ['MON_METRICS_PORT', `cannot serve Prometheus metrics on 127.0.0.1:${blocker.port} (the port is in use); set OTEL_EXPORTER_PROMETHEUS_PORT to a free port. The app runs on without /metrics.`],
    ]);
  });

  it('warns once per metric it has to leave out', async () => {
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0 });
    const provider = new MeterProvider({
      readers: [reader],
      views: [{ instrumentName: 'exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    cleanups.push(() => provider.shutdown());
    provider.getMeter('test').createHistogram('exp').record(1);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await reader.collectText();
      await reader.collectText();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ name: 'MonWarning', code: 'MON_METRIC_DROPPED' });
    expect(warnings[0]!.message).toContain('exp');
  });

  it('closes the server, keep-alive connections included, on shutdown', async () => {
    const { provider, port, url } = await start();
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http.get(`${url}/metrics`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    await provider.shutdown();
    agent.destroy();
    const refused = await new Promise<string>((resolve) => {
      net.connect(port, '127.0.0.1').on('error', (e: NodeJS.ErrnoException) => resolve(String(e.code))).on('connect', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('cuts off a client that never finishes its request', async () => {
    const { port } = await start();
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n'); // headers never end
    const started = Date.now();
    socket.resume();
    await once(socket, 'close');
    // headersTimeout 5 s, checked every second.
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 15_000);

  it('never keeps the process alive, not even with a keep-alive scraper connected', async () => {
    // The child registers a reader, says where it listens, then has 300 ms of work left.
    const script = `
      import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
      import { PrometheusReader } from '@mon/prometheus';
      const reader = new PrometheusReader({ host: '127.0.0.1', port: 0 });
      new MeterProvider({ readers: [reader] });
      await reader.ready;
      console.log(reader.address().port);
      setTimeout(() => {}, 300);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(chunk.toString().trim());
    const agent = new http.Agent({ keepAlive: true });
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
        res.resume().on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
    expect(status).toBe(200);
    // From the answer (the child's start-up is not what is measured, and a loaded machine slows it).
    const answered = Date.now();
    const [code] = (await once(child, 'exit')) as [number];
    agent.destroy();
    expect(code).toBe(0);
    // Exits when its own work is done (< 300 ms left), not when keepAliveTimeout (5 s) closes the socket.
    expect(Date.now() - answered).toBeLessThan(4_000);
  });
});

describe('PrometheusReader access control', () => {
  it('with a bearer token: 401 and a challenge without it, 200 with it, on every path', async () => {
    const { url } = await start({ auth: { bearer: 's3cret' }, fallback: (req, res) => (res.end('page'), true) });
    for (const path of ['/metrics', '/']) {
      const denied = await fetch(`${url}${path}`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await denied.text()).not.toContain('http_server');
      expect((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer s3cret!' } })).status).toBe(401);
    }
    const allowed = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer s3cret' } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('http_server_requests_total');
  });

  it('with a user and password: basic auth', async () => {
    const { url } = await start({ auth: { username: 'prom', password: 'p:w' } });
    const denied = await fetch(`${url}/metrics`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Basic realm="metrics", charset="UTF-8"');
    const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    expect((await fetch(`${url}/metrics`, { headers: { authorization: basic('prom', 'wrong') } })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: basic('prom', 'p:w') } })).status).toBe(200);
  });
});

describe('PrometheusReader under a scrape flood', () => {
  it('scrapes during the pause after a costly collection share the next one, with values from after they came', async () => {
    const { url, provider } = await start();
    let callbacks = 0;
    provider
      .getMeter('test')
      .createObservableGauge('costly')
      .addCallback((result) => {
        callbacks++;
        // 20 ms of CPU (not of wall time, which a busy machine stretches): the next collection
        // waits 9 x 20 = 180 ms after this one.
        const cpu = process.cpuUsage();
        while (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system < 20_000);
        result.observe(callbacks);
      });
    const counter = provider.getMeter('test').createCounter('events');
    await fetch(`${url}/metrics`);
    expect(callbacks).toBe(1);
    counter.add(5); // after the first collection: every later scrape must see it
    const started = performance.now();
    const bodies = await Promise.all(Array.from({ length: 5 }, async () => (await fetch(`${url}/metrics`)).text()));
    const waited = performance.now() - started;
    expect(callbacks).toBe(2);
    for (const body of bodies) {
      expect(body).toContain('events_total 5');
      expect(body).toContain('costly 2');
    }
    expect(waited).toBeGreaterThan(0);
    // One scrape after another: each waits out the pause after the previous collection, so three
    // take at least 3 x 180 ms (less a little for the time between them), and the callbacks
    // (20 ms each) had at most a tenth of that time.
    const sequentialStart = performance.now();
    for (let i = 0; i < 3; i++) await fetch(`${url}/metrics`);
    expect(performance.now() - sequentialStart).toBeGreaterThanOrEqual(450);
    expect(callbacks).toBe(5);
  });
});

describe('PrometheusReader against DNS rebinding and sniffing', () => {
  /** A GET with the Host header we choose (fetch would send the URL's). */
  const get = (port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        })
        .on('error', reject);
    });

  it('bound to loopback: a foreign Host gets 421 on every path, before auth; loopback names pass', async () => {
    const { port } = await start({ auth: { bearer: 's3cret' }, fallback: (req, res) => (res.end('page'), true) });
    const authorization = 'Bearer s3cret';
    for (const host of ['attacker.example', `attacker.example:${port}`, 'localhost.attacker.example', '10.0.0.1', '[::2]']) {
      for (const path of ['/metrics', '/']) {
        const refused = await get(port, path, { host, authorization });
        expect(refused.status, `${host}${path}`).toBe(421);
        expect(refused.body).not.toContain('http_server');
        expect(refused.headers['www-authenticate']).toBeUndefined();
      }
    }
    for (const host of ['localhost', `localhost:${port}`, 'LOCALHOST.', 'app.localhost', `127.0.0.1:${port}`, '127.1.2.3', `[::1]:${port}`, '[0:0:0:0:0:0:0:1]']) {
      expect((await get(port, '/metrics', { host, authorization })).status, host).toBe(200);
    }
  });

  it('decided from the address bound, not the name: a name that resolves to loopback gets the check, and passes as a Host', async () => {
    // `127.1` is 127.0.0.1 to the resolver (inet_aton), whatever /etc/hosts says.
    const { port } = await start({ host: '127.1' });
    expect((await get(port, '/metrics', { host: `attacker.example:${port}` })).status).toBe(421);
    expect((await get(port, '/metrics', { host: `127.1:${port}` })).status).toBe(200);
    expect((await get(port, '/metrics', { host: `127.0.0.1:${port}` })).status).toBe(200);
  });

  it('a Host with an IPv6 zone id is refused (421), not an error (500)', async () => {
    const { port } = await start();
    for (const host of ['[fe80::1%lo]', `[fe80::1%25lo]:${port}`, '[::1%lo]']) expect((await get(port, '/metrics', { host })).status, host).toBe(421);
  });

  it('bound to another address: any Host, as before', async () => {
    const reader = new PrometheusReader({ port: 0 });
    const provider = new MeterProvider({ readers: [reader] });
    cleanups.push(() => provider.shutdown());
    await reader.ready;
    const { port } = reader.address()!;
    expect((await get(port, '/metrics', { host: 'metrics.internal.example' })).status).toBe(200);
  });

  it('nosniff on every response: scrape, 404, 405, 401, 421, and the fallback\'s', async () => {
    const { port } = await start({ fallback: (req, res) => (req.url === '/page' ? (res.end('page'), true) : false) });
    for (const path of ['/metrics', '/nope', '/page']) {
      expect((await get(port, path, {})).headers['x-content-type-options'], path).toBe('nosniff');
    }
    expect((await get(port, '/metrics', { host: 'evil.example' })).headers['x-content-type-options']).toBe('nosniff');
    const authed = await start({ auth: { bearer: 't' } });
    expect((await get(authed.port, '/metrics', {})).headers['x-content-type-options']).toBe('nosniff');
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('auth schemes in any case (RFC 7235), credentials exactly', async () => {
    const { url } = await start({ auth: { bearer: 's3cret' } });
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await fetch(`${url}/metrics`, { headers: { authorization: `${scheme} s3cret` } })).status, scheme).toBe(200);
    }
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'bearer S3CRET' } })).status).toBe(401);
    const basic = await start({ auth: { username: 'prom', password: 'pw' } });
    const token = Buffer.from('prom:pw').toString('base64');
    expect((await fetch(`${basic.url}/metrics`, { headers: { authorization: `BASIC ${token}` } })).status).toBe(200);
    expect((await fetch(`${basic.url}/metrics`, { headers: { authorization: `basic ${token.toLowerCase()}` } })).status).toBe(401);
  });
});

describe('PrometheusReader warnings', () => {
  it('a metric callback that throws: its metric is left out, the rest served, one warning per cause', async () => {
    const warnings: Array<[string, string]> = [];
    const { url, provider } = await start({ warn: (code, message) => warnings.push([code, message]) });
    provider.getMeter('test').createObservableGauge('app.broken').addCallback(() => {
      throw new Error('exploded');
    });
    for (let i = 0; i < 3; i++) {
      const body = await (await fetch(`${url}/metrics`)).text();
      expect(body).toContain('http_server_requests_total{http_request_method="GET"} 7');
      expect(body).not.toMatch(/^app_broken/m);
    }
    expect(warnings).toEqual([['MON_CALLBACK_FAILED', 'a metric callback failed (Error: exploded); its metrics are left out, the rest is served.']]);
  });
});
