// gRPC under `node --import @mon/register`: a @grpc/grpc-js server and client in one process
// (test/fixtures/grpc-calls.mjs) make a fixed set of calls; both sides are counted exactly, per
// method and status, in rpc.server.call.duration and rpc.client.call.duration, and never as HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, parseLabels, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';

const HTTP2_CHANNELS = Number(process.versions.node.split('.')[0]) >= 22;

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function calls(): Promise<{ text: string; results: string[] }> {
  app = await spawnApp(fixture('grpc-calls.mjs'));
  const results = JSON.parse(/calls (.*)/.exec(app.stdout())![1]!) as string[];
  // What the app's own client saw: the server answered each call as meant.
  expect(results).toEqual(['OK', 'OK', 'OK', 'NOT_FOUND', 'NOT_FOUND', 'UNKNOWN', 'UNIMPLEMENTED', 'OK', 'DEADLINE_EXCEEDED', 'CANCELLED', 'OK 3']);
  // The server side of a cancelled call closes a moment after the client's: poll until both are in.
  const deadline = Date.now() + 8_000;
  let text = '';
  do {
    text = (await scrape(app.metricsPort)).body;
    if (sumSamples(text, 'rpc_server_call_duration_seconds_count') === 11 || !HTTP2_CHANNELS) break;
    await sleep(50);
  } while (Date.now() < deadline);
  return { text, results };
}

/** Counts by (method, status, error type) of one histogram. */
function counts(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== `${name}_count`) continue;
    const l = parseLabels(m[2]!);
    expect(l.rpc_system_name).toBe('grpc');
    const key = `${l.rpc_method} ${l.rpc_response_status_code}${l.error_type ? ` error=${l.error_type}` : ''}`;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

describe.runIf(HTTP2_CHANNELS)('gRPC (Node 22+)', () => {
  it('counts every call once on each side, by method and status, streaming calls when they end', async () => {
    const { text } = await calls();
    expect(counts(text, 'rpc_server_call_duration_seconds')).toEqual({
      'mon.test.Echo/Say OK': 3,
      'mon.test.Echo/Find NOT_FOUND': 2,
      // A handler that throws: grpc-js answers UNKNOWN, a server fault.
      'mon.test.Echo/Explode UNKNOWN error=UNKNOWN': 1,
      // A service the server does not have: no method name of its own.
      '_OTHER UNIMPLEMENTED error=UNIMPLEMENTED': 1,
      'mon.test.Echo/Slow OK': 1,
      'mon.test.Echo/Slow DEADLINE_EXCEEDED error=DEADLINE_EXCEEDED': 1,
      // Cancelled by the client: not the server's fault.
      'mon.test.Echo/Slow CANCELLED': 1,
      'mon.test.Echo/Count OK': 1,
    });
    // The client side: every code but OK is an error; the peer is the server's address and port.
    expect(counts(text, 'rpc_client_call_duration_seconds')).toEqual({
      'mon.test.Echo/Say OK': 3,
      'mon.test.Echo/Find NOT_FOUND error=NOT_FOUND': 2,
      'mon.test.Echo/Explode UNKNOWN error=UNKNOWN': 1,
      '_OTHER UNIMPLEMENTED error=UNIMPLEMENTED': 1,
      'mon.test.Echo/Slow OK': 1,
      'mon.test.Echo/Slow DEADLINE_EXCEEDED error=DEADLINE_EXCEEDED': 1,
      'mon.test.Echo/Slow CANCELLED error=CANCELLED': 1,
      'mon.test.Echo/Count OK': 1,
    });
    expect(sumSamples(text, 'rpc_client_call_duration_seconds_count', { server_address: '127.0.0.1', server_port: String(app!.port) })).toBe(11);
    // The streaming call lasted its three 20 ms writes, at least.
    expect(sumSamples(text, 'rpc_server_call_duration_seconds_sum', { rpc_method: 'mon.test.Echo/Count' })).toBeGreaterThanOrEqual(0.04);
    // gRPC calls are RPCs, not HTTP requests: the HTTP series hold only the three plain HTTP/2 calls.
    expect(sumSamples(text, 'http_server_requests_total')).toBe(3);
    expect(sumSamples(text, 'http_server_requests_total', { network_protocol_version: '2', http_response_status_code: '200' })).toBe(2);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count')).toBe(3);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count', { http_response_status_code: '404', error_type: '404' })).toBe(1);
    expect(sumSamples(text, 'http_server_active_requests')).toBe(0);
    expect(sumSamples(text, 'http_client_active_requests')).toBe(0);
  });
});

describe.runIf(!HTTP2_CHANNELS)('gRPC on Node 20 (no http2 channels)', () => {
  it('counts nothing, never wrongly, and warns once', async () => {
    const { text } = await calls();
    expect(text).not.toMatch(/^rpc_/m);
    expect(sumSamples(text, 'http_server_requests_total')).toBe(0);
    expect(sumSamples(text, 'http_client_request_duration_seconds_count')).toBe(0);
    expect(app!.stderr().match(/MON_HTTP2_NOT_COUNTED/g)).toHaveLength(1);
  });
});
