// The hot path (src/http-server.ts) on its own: fake `http.server.request.start` messages, fake
// responses that emit 'close', and the recorder's totals. Covers what the e2e tests reach only
// indirectly: the id free list, its growth past 256 requests in flight, queued (pipelined)
// responses ended by their socket's close, and a route source that throws.
import dc from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { HttpServerMetrics } from '../src/http-server-metrics.js';
import { instrumentHttpServers } from '../src/http-server.js';

const channel = dc.channel('http.server.request.start');
const OPTIONS: Config['http'] = { maxRoutes: 500 } as Config['http'];

class FakeSocket extends EventEmitter {
  _httpMessage: FakeResponse | null = null;
  encrypted = false;
}

class FakeResponse extends EventEmitter {
  headersSent = false;
  statusCode = 200;
  writableFinished = false;
  constructor(readonly req: FakeRequest) {
    super();
  }
  /** Answers: headers and body out, then 'close', as Node does. */
  answer(status: number): void {
    this.statusCode = status;
    this.headersSent = true;
    this.writableFinished = true;
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

  it('ends queued (pipelined) responses as aborted when their socket closes before they are answered', async () => {
    const metrics = new HttpServerMetrics();
    stop = instrumentHttpServers(metrics, OPTIONS);
    const socket = new FakeSocket();
    const current = start('GET', '/', socket);
    socket._httpMessage = current; // Node attaches the first response; the next ones queue behind it
    start('GET', '/', socket);
    start('GET', '/', socket);
    expect((await totals(metrics)).active).toBe(3);
    current.emit('close'); // the client went away: the answered-or-not current one closes
    socket.emit('close'); // and Node never closes the queued ones: their socket does
    expect(await totals(metrics)).toEqual({ requests: 3, active: 0, byStatus: { 'none aborted': 3 } });
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
    response.answer(200);
    expect((await totals(metrics)).requests).toBe(0);
  });
});
