// HTTP/2 requests and gRPC calls the app makes, from Node's `http2.client.stream.*` diagnostics
// channels (Node 22+): node:http2's `session.request()` and everything built on it, @grpc/grpc-js
// clients among them. A call starts at `created` (when the app makes it, connection wait
// included, as an HTTP/1 call is timed), takes its response headers from `finish`, a gRPC status
// from the response's trailers, and ends at `close`, published once per stream (or at the error
// Node publishes just after the close of a destroyed stream: see onClose).
//
// HTTP/2 requests go into http.client.request.duration with the HTTP/1 calls (the same Target, so
// the same MON_MAX_CLIENT_HOSTS cap), marked network.protocol.version="2" as on the server side;
// gRPC calls into rpc.client.call.duration only. fetch with
// `allowH2` rides on node:http2 too, but undici's own channels already count it (http-client.ts):
// its sessions are recognised once each and left out here.
import { subscribe, unsubscribe } from '../channels.js';
import type { ClientHttp2Stream, Http2Session, IncomingHttpHeaders } from 'node:http2';
import type { HttpClientMetrics, Target } from '../http-client-metrics.js';
import { methodIndex } from '../http-server-metrics.js';
import { UNAVAILABLE, UNKNOWN, isGrpc, statusOf, statusOfUnanswered, timeoutMillis } from './grpc-status.js';
import type { RpcMetrics } from './rpc-metrics.js';
// Not the global performance (it loads perf_hooks at start-up): see clock.ts.
import { clock } from '../clock.js';

interface StreamMessage {
  stream: ClientHttp2Stream;
  headers: IncomingHttpHeaders;
  error?: unknown;
}

/** One call in flight. A class, so every call has the same shape (as http-client.ts). */
class Call {
  status = 0;
  /** gRPC: the grpc-status received, -1 until then. */
  grpcStatus = -1;
  error: unknown = undefined;
  /** gRPC: the call's deadline (grpc-timeout) in milliseconds, -1 for none. */
  deadline = -1;
  /** Its duration, set at close: -1 while open. */
  micros = -1;
  constructor(
    readonly target: Target,
    /** HTTP: the method index; gRPC: the rpc.method index, -1 while not known yet. */
    readonly method: number,
    readonly grpc: boolean,
    /** gRPC calls to a method not named yet: their :path. */
    readonly path: string | undefined,
    readonly start: number,
  ) {}
}

/** error.type of an HTTP/2 request reset before its response ended, with no error given. */
const ABORTED = Object.freeze({ name: 'aborted' });

let http: HttpClientMetrics | undefined;
let rpc: RpcMetrics | undefined;
/** Session -> its target, or null for sessions undici runs (counted by its own channels). */
const sessions = new WeakMap<Http2Session, Target | null>();
const calls = new WeakMap<ClientHttp2Stream, Call>();

/**
 * undici marks its HTTP/2 sessions with symbols of its own (lib/core/symbols.js: `client`,
 * `http2Session state`); Node's have neither. Looked at once per session.
 */
function isUndiciSession(session: Http2Session): boolean {
  for (const symbol of Object.getOwnPropertySymbols(session)) {
    if (symbol.description === 'client' || symbol.description === 'http2Session state') return true;
  }
  return false;
}

function targetOf(session: Http2Session, headers: IncomingHttpHeaders): Target | null {
  let target = sessions.get(session);
  if (target === undefined) {
    // Once per session: the origin the app connected to, as :scheme and :authority say it.
    const scheme = headers[':scheme'] === 'https' ? 'https' : 'http';
    const authority = headers[':authority'];
    target = isUndiciSession(session) || http === undefined ? null : http.overHttp2(http.targetOfOrigin(`${scheme}://${typeof authority === 'string' ? authority : ''}`));
    sessions.set(session, target);
  }
  return target;
}

function onCreated(message: unknown): void {
  const { stream, headers } = message as StreamMessage;
  const session = stream.session;
  if (session == null || http === undefined) return;
  const target = targetOf(session, headers);
  if (target === null) return;
  const grpc = isGrpc(headers['content-type']);
  if (grpc) {
    if (rpc === undefined) return;
    const path = headers[':path'];
    const method = rpc.knownMethod(path);
    const call = new Call(target, method, true, method === -1 ? (path as string) : undefined, clock());
    if (headers['grpc-timeout'] !== undefined) call.deadline = timeoutMillis(headers['grpc-timeout']);
    calls.set(stream, call);
    // The status comes in the trailers; no channel carries them. One listener, no closure.
    stream.once('trailers', onTrailers);
    return;
  }
  const call = new Call(target, methodIndex(headers[':method']), false, undefined, clock());
  calls.set(stream, call);
  http.callStarted(target, call.method);
}

function onFinish(message: unknown): void {
  // Published when the response headers arrive.
  const { stream, headers } = message as StreamMessage;
  const call = calls.get(stream);
  if (call === undefined) return;
  const status = Number(headers[':status']);
  call.status = status >= 100 && status <= 999 ? status | 0 : 0;
  // A trailers-only response carries grpc-status in its headers.
  if (call.grpc && headers['grpc-status'] !== undefined) call.grpcStatus = statusOf(headers['grpc-status']);
}

function onTrailers(this: ClientHttp2Stream, trailers: IncomingHttpHeaders): void {
  const call = calls.get(this);
  if (call !== undefined && trailers['grpc-status'] !== undefined) call.grpcStatus = statusOf(trailers['grpc-status']);
}

function onError(message: unknown): void {
  const { stream, error } = message as StreamMessage;
  const call = calls.get(stream);
  if (call === undefined) return;
  if (call.error === undefined) call.error = causeOf(error);
  // Closed already, waiting for this error (see onClose).
  if (call.micros !== -1) end(stream, call);
}

/**
 * What a call failed with. A request still waiting for its connection when the connection failed
 * gets ERR_HTTP2_STREAM_CANCEL, whose cause is the connection's error: that cause (ECONNREFUSED,
 * ENOTFOUND...) is the error.type, as an HTTP/1 call to the same server records it.
 */
function causeOf(error: unknown): unknown {
  if (error == null) return ABORTED;
  try {
    const { code, cause } = error as { code?: unknown; cause?: unknown };
    return code === 'ERR_HTTP2_STREAM_CANCEL' && cause != null ? cause : error;
  } catch {
    // The app's own error passed to stream.destroy(), with a throwing getter: errorTypeName makes
    // it _OTHER; a listener that throws would crash the app.
    return error;
  }
}

function onClose(message: unknown): void {
  const { stream } = message as StreamMessage;
  const call = calls.get(stream);
  if (call === undefined || call.micros !== -1) return;
  const elapsed = Math.round((clock() - call.start) * 1000);
  call.micros = elapsed > 0 ? elapsed : 0;
  // A stream destroyed (its connection failed, or the app destroyed it) publishes close first and
  // its error, if any, just after (Http2Stream._destroy in lib/internal/http2/core.js): the call
  // ends on that error, or on the next tick if none came. Only such streams pay the tick.
  if (stream.destroyed && call.error === undefined) process.nextTick(endIfOpen, stream, call);
  else end(stream, call);
}

function endIfOpen(stream: ClientHttp2Stream, call: Call): void {
  if (calls.get(stream) === call) end(stream, call);
}

function end(stream: ClientHttp2Stream, call: Call): void {
  calls.delete(stream);
  const micros = call.micros;
  const rstCode = stream.rstCode ?? 0;
  if (call.grpc) {
    let status = call.grpcStatus;
    // No status received: reset (the deadline passed, or the app cancelled), or the connection failed.
    if (status === -1) status = rstCode !== 0 ? statusOfUnanswered(rstCode, call.deadline, micros) : call.error !== undefined ? UNAVAILABLE : UNKNOWN;
    const method = call.method !== -1 ? call.method : rpc!.methodOf(call.path, status);
    rpc!.record(call.target, method, status, micros);
    return;
  }
  let error = 0;
  if (call.error !== undefined) error = http!.errorTypeOf(call.error);
  // Reset before the whole response was read: as an HTTP/1 response cut short.
  else if (rstCode !== 0 && !stream.readableEnded) error = http!.errorTypeOf(ABORTED);
  http!.callEnded(call.target, call.method, call.status, error, micros);
}

const SUBSCRIPTIONS: ReadonlyArray<[string, (message: unknown) => void]> = [
  ['http2.client.stream.created', onCreated],
  ['http2.client.stream.finish', onFinish],
  ['http2.client.stream.error', onError],
  ['http2.client.stream.close', onClose],
];

/** Subscribes once; returns the function that unsubscribes. */
export function instrumentHttp2Clients(httpMetrics: HttpClientMetrics, rpcMetrics: RpcMetrics | undefined): () => void {
  http = httpMetrics;
  rpc = rpcMetrics;
  for (const [name, handler] of SUBSCRIPTIONS) subscribe(name, handler);
  return () => {
    for (const [name, handler] of SUBSCRIPTIONS) unsubscribe(name, handler);
  };
}
