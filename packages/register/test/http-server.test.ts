// The hot path (src/http-server.ts) on its own: fake `http.server.request.start` and
// `http.server.response.finish` messages, fake sockets that emit 'close', and the recorder's totals.
// Covers what the e2e tests reach only indirectly: the id free list, its growth past 256 requests in
// flight, pipelined requests on one connection ended in order or by their socket's close, requests
// the recorder skips between counted ones, and a route source that throws.
import dc from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { HttpServerMetrics } from '../src/http-server-metrics.js';
import { instrumentHttpServers } from '../src/http-server.js';

const channel = dc.channel('http.server.request.start');
const finish = dc.channel('http.server.response.finish');
const OPTIONS: Config['http'] = { maxRoutes: 500 } as Config['http'];

class FakeSocket extends EventEmitter {
  encrypted = false;
}

class FakeResponse extends EventEmitter {
  headersSent = false;
  statusCode = 200;
  writableFinished = false;
  constructor(readonly req: FakeRequest) {
    super();
  }
  /** Answers: headers and body out, then Node's finish message and 'close', as Node does. */
  answer(status: number, server: object = {}): void {
    this.statusCode = status;
    this.headersSent = true;
    this.writableFinished = true;
    finish.publish({ request: this.req, response: this, socket: this.req.socket, server });
    this.emit('close');
  }
}

class FakeRequest {
  route?: unknown;
  constructor(
    readonly method: string,
    readonly url: string,
    readonly socket: FakeSocket,
  ) {}
}

const server = {};

function start(method = 'GET', url = '/', socket = new FakeSocket()): FakeResponse {
  const request = new FakeRequest(method, url, socket);
  const response = new FakeResponse(request);
  channel.publish({ request, response, socket, server });
  return response;
}

async function totals(metrics: HttpServerMetrics): Promise<{ requests: number; active: number; byStatus: Record<string, number> }> {
  const { resourceMetrics } = await metrics.producer().collect();
  const byName = Object.fromEntries(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
  const byStatus: Record<string, number> = {};
  let requests = 0;
  for (const p of byName['http.server.requests']?.dataPoints ?? []) {
    requests += p.value as number;
    const key = `${String(p.attributes['http.response.status_code'] ?? 'none')} ${String(p.attributes['error.type'] ?? '')}`.trim();
    byStatus[key] = (byStatus[key] ?? 0) + (p.value as number);
  }
  const active = (byName['http.server.active_requests']?.dataPoints ?? []).reduce((sum, p) => sum + (p.value as number), 0);
  return { requests, active, byStatus };
}

let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
});

describe('instrumentHttpServers', () => {
  it('counts each response once, at its close, with the status it was answered with', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const a = start();
    const b = start('POST');
    expect((await totals(metrics)).active).toBe(2);
    a.answer(201);
    b.answer(503);
    // A second 'close' (a listener re-emitting) is not a second request.
    a.emit('close');
    expect(await totals(metrics)).toEqual({ requests: 2, active: 0, byStatus: { '201': 1, '503 503': 1 } });
  });

  it('reuses ids and grows past 256 requests in flight without mixing their start times', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const first = Array.from({ length: 600 }, () => start());
    expect((await totals(metrics)).active).toBe(600);
    for (const r of first.slice(0, 300)) r.answer(200);
    // Freed ids are handed out again; the others are still in flight.
    const second = Array.from({ length: 300 }, () => start());
    expect((await totals(metrics)).active).toBe(600);
    for (const r of [...first.slice(300), ...second]) r.answer(200);
    expect(await totals(metrics)).toEqual({ requests: 900, active: 0, byStatus: { '200': 900 } });
  });

  it('ends pipelined requests in order, and those left when their socket closes as aborted', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const socket = new FakeSocket();
    const first = start('GET', '/', socket);
    start('GET', '/', socket);
    start('GET', '/', socket);
    expect((await totals(metrics)).active).toBe(3);
    first.answer(201);
    expect(await totals(metrics)).toMatchObject({ requests: 1, active: 2 });
    socket.emit('close'); // the client went away before the other two were answered
    expect(await totals(metrics)).toEqual({ requests: 3, active: 0, byStatus: { '201': 1, 'none aborted': 2 } });
    socket.emit('close'); // a second 'close' ends nothing twice
    expect((await totals(metrics)).requests).toBe(3);
  });

  it('counts a response aborted after its headers went out with the status sent', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const socket = new FakeSocket();
    const response = start('GET', '/', socket);
    response.headersSent = true;
    response.statusCode = 200;
    socket.emit('close');
    // Node's finish message never comes for it; a late one (a write callback) is not a second request.
    finish.publish({ request: response.req, response, socket, server });
    expect(await totals(metrics)).toEqual({ requests: 1, active: 0, byStatus: { '200 aborted': 1 } });
  });

  it('keeps a connection\'s counted requests in step when an ignored path is pipelined between them', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, { ...OPTIONS, ignorePaths: ['/healthz'] });
    const socket = new FakeSocket();
    const a = start('GET', '/a', socket);
    const health = start('GET', '/healthz', socket);
    const b = start('POST', '/b', socket);
    a.answer(200);
    health.answer(204);
    b.answer(500);
    expect(await totals(metrics)).toEqual({ requests: 2, active: 0, byStatus: { '200': 1, '500 500': 1 } });
  });

  it('counts a request whose route source throws, without a route, and never throws into the app', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const response = start();
    Object.defineProperty(response.req, 'route', {
      get() {
        throw new Error('a framework getter that throws');
      },
    });
    expect(() => response.answer(200)).not.toThrow();
    expect(await totals(metrics)).toEqual({ requests: 1, active: 0, byStatus: { '200': 1 } });
  });

  it('leaves the metrics endpoint\'s own server uncounted', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const telemetry = { [Symbol.for('mon.telemetry-server')]: true };
    const request = new FakeRequest('GET', '/metrics', new FakeSocket());
    const response = new FakeResponse(request);
    channel.publish({ request, response, socket: request.socket, server: telemetry });
    response.answer(200, telemetry);
    expect((await totals(metrics)).requests).toBe(0);
  });
});
