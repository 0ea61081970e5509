// The calls the app makes, from Node's diagnostics channels: no patching, ESM or CJS alike.
// - node:http and node:https clients: `http.client.request.start` (the request), then
//   `http.client.response.finish` (published when the response's headers arrive, despite its
//   name) and `http.client.request.error` (Node >= 20.17 / 22.6). A call ends at the request's
//   'close', which Node emits once per request: after the response body ended (next tick, with a
//   keep-alive agent; when the socket closes, without), or after the error.
// - fetch and any undici copy: `undici:request:create`, `undici:request:headers`, then
//   `undici:request:trailers` (the body fully received) or `undici:request:error`, which undici
//   may publish more than once for one request; the first end counts.
// A redirect that fetch follows is a new undici request: one call (and one series) per hop.
//
// Client channels are Stability 1 in Node; test/http-client.e2e.test.ts covers the lines we claim.
import dc from 'node:diagnostics_channel';
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { HttpClientMetrics, Target } from './http-client-metrics.js';
import { clock } from './clock.js';
import { methodIndex } from './http-server-metrics.js';

/** Set on the agents of mon's own exporters: their calls are mon's traffic, not the app's. */
export const TELEMETRY_AGENT = Symbol.for('mon.telemetry-agent');

/** Marks an agent as mon's own (see TELEMETRY_AGENT) and returns it. */
export function markTelemetryAgent<A extends Agent>(agent: A): A {
  (agent as A & { [TELEMETRY_AGENT]?: boolean })[TELEMETRY_AGENT] = true;
  return agent;
}

/** What undici publishes; only the fields read here. */
interface UndiciRequest {
  origin?: unknown;
  method?: string;
}

type NodeRequest = ClientRequest & { agent?: (Agent & { [TELEMETRY_AGENT]?: boolean }) | null; res?: IncomingMessage | null };

/** One call in flight. A class, so every call has the same shape. */
class Call {
  status = 0;
  error = 0;
  constructor(
    readonly target: Target,
    readonly method: number,
    readonly start: number,
  ) {}
}


/** error.type of a node:http response that ended before its body did, with no error given. */
const ABORTED = Object.freeze({ name: 'aborted' });

let metrics: HttpClientMetrics;
const calls = new WeakMap<object, Call>();

function end(key: object, call: Call, error: number): void {
  calls.delete(key);
  const micros = Math.round((clock() - call.start) * 1000);
  metrics.callEnded(call.target, call.method, call.status, error, micros > 0 ? micros : 0);
}

// ----- fetch and undici

function onUndiciCreate(message: unknown): void {
  const request = (message as { request: UndiciRequest }).request;
  const origin = typeof request.origin === 'string' ? request.origin : String(request.origin);
  const call = new Call(metrics.targetOfOrigin(origin), methodIndex(request.method), clock());
  calls.set(request, call);
  metrics.callStarted(call.target, call.method);
}

function onUndiciHeaders(message: unknown): void {
  const { request, response } = message as { request: object; response: { statusCode: number } };
  const call = calls.get(request);
  if (call !== undefined) call.status = response.statusCode;
}

function onUndiciTrailers(message: unknown): void {
  const request = (message as { request: object }).request;
  const call = calls.get(request);
  if (call !== undefined) end(request, call, 0);
}

function onUndiciError(message: unknown): void {
  const { request, error } = message as { request: object; error: unknown };
  const call = calls.get(request);
  if (call !== undefined) end(request, call, metrics.errorTypeOf(error));
}

// ----- node:http and node:https

function onRequestStart(message: unknown): void {
  const request = (message as { request: NodeRequest }).request;
  if (request.agent?.[TELEMETRY_AGENT] === true) return;
  const target = metrics.targetOfHost(request.protocol === 'https:', request.host, request.getHeader('host'));
  const call = new Call(target, methodIndex(request.method), clock());
  calls.set(request, call);
  metrics.callStarted(target, call.method);
  // One listener, no closure: 'close' comes once, whether the call succeeded, failed or was aborted.
  request.on('close', onRequestClose);
}

function onResponseHeaders(message: unknown): void {
  const { request, response } = message as { request: object; response: IncomingMessage };
  const call = calls.get(request);
  if (call !== undefined) call.status = response.statusCode ?? 0;
}

function onRequestError(message: unknown): void {
  const { request, error } = message as { request: object; error: unknown };
  const call = calls.get(request);
  // The first error is the cause; a later one (a destroy after it) is not.
  if (call !== undefined && call.error === 0) call.error = metrics.errorTypeOf(error);
}

function onRequestClose(this: NodeRequest): void {
  const call = calls.get(this);
  if (call === undefined) return;
  let error = call.error;
  const response = this.res;
  // An upgrade (101) or CONNECT answer is never published on http.client.response.finish.
  if (call.status === 0 && response != null) call.status = response.statusCode ?? 0;
  if (error === 0) {
    if (response != null) {
      // The body was cut short: by the server (Node then destroys it with ECONNRESET) or the app.
      if (!response.complete) error = metrics.errorTypeOf(response.errored ?? ABORTED);
    } else {
      // No response and no error channel (Node < 20.17): the socket holds the cause, if any.
      error = metrics.errorTypeOf(this.socket?.errored ?? ABORTED);
    }
  }
  end(this, call, error);
}

const SUBSCRIPTIONS: ReadonlyArray<[string, (message: unknown) => void]> = [
  ['undici:request:create', onUndiciCreate],
  ['undici:request:headers', onUndiciHeaders],
  ['undici:request:trailers', onUndiciTrailers],
  ['undici:request:error', onUndiciError],
  ['http.client.request.start', onRequestStart],
  ['http.client.response.finish', onResponseHeaders],
  ['http.client.request.error', onRequestError],
];

/** Subscribes once; returns the function that unsubscribes. */
export function instrumentHttpClients(target: HttpClientMetrics): () => void {
  metrics = target;
  for (const [name, handler] of SUBSCRIPTIONS) dc.subscribe(name, handler);
  return () => {
    for (const [name, handler] of SUBSCRIPTIONS) dc.unsubscribe(name, handler);
  };
}
