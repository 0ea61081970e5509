// HTTP/2 requests and gRPC calls served, from Node's `http2.server.stream.*` diagnostics channels
// (Node 22+; Node 20 has none, see node20.ts). They fire for every node:http2 server in the
// process, stream API and compatibility API alike (Fastify with `http2: true`, @grpc/grpc-js), with
// no patching. A stream starts at `start` (published just before the server's 'stream' event) and
// ends at `close`, which Node publishes once per stream, whether it finished, was reset by either
// side, or died with its session: so an aborted stream is counted once and never left active.
//
// A POST whose content-type is application/grpc is taken for a gRPC call at its start, and is one
// if the server answers it as one (a grpc-status, or an application/grpc response): it is then
// counted in rpc.server.call.duration only, not as an HTTP request (docs/http2-grpc.md says why).
// What a client sends is not enough: a server that answers such a request as plain HTTP (any
// node:http2 server, a 404) counts it as an HTTP request, so no client can hide requests from the
// HTTP series or mint rpc.method values on a server that does not speak gRPC. The HTTP/1
// requests of a `createSecureServer({ allowHTTP1: true })` never reach these channels: Node hands
// them to its HTTP/1 server code, where http-server.ts counts them once.
//
// Per stream: one WeakMap entry holding a small integer (a V8 Smi), as http-server.ts does, and
// the same clock (startTiming/stopTiming). That entry is what HTTP/2 costs beyond HTTP/1: keyed
// by a ServerHttp2Stream, V8's table allocates ~90 B per stream where keyed by a ServerResponse it
// allocates nothing measurable (test/bench/http2.mjs, floor+WeakMap; RESULTS.md "HTTP/2 and gRPC").
import dc from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { HTTP2_SLOT, SLOTS, methodIndex, slotOf } from '../http-server-metrics.js';
import { startTiming, stopTiming, type HttpRecorder } from '../http-server.js';
import type { RouteResolver } from '../routes.js';
import { UNKNOWN, isGrpc, statusOf, statusOfUnanswered, timeoutMillis } from './grpc-status.js';
import { OTHER, type RpcMetrics } from './rpc-metrics.js';

interface StreamMessage {
  stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
}

export interface Http2ServerTargets {
  /** The metrics, or (in a worker thread) a forwarder (worker-http.ts). */
  http?: HttpRecorder | undefined;
  rpc?: RpcMetrics | undefined;
  routes?: RouteResolver | undefined;
  ignored?: ((url: string | undefined) => boolean) | undefined;
}

let http: HttpRecorder | undefined;
let rpc: RpcMetrics | undefined;
let routes: RouteResolver | undefined;
let ignored: ((url: string | undefined) => boolean) | undefined;
/** rpc.methodSpan, plus one for "not known yet" (its :path waits in pendingPaths). */
let rpcSpan = 1;
let pending = 0;

/**
 * Streams in flight. HTTP: id * SLOTS + slot (>= 0), as http-server.ts packs a response. gRPC:
 * -1 - (id * rpcSpan + method), negative, so one WeakMap holds both.
 */
const inFlight = new WeakMap<ServerHttp2Stream, number>();
/** The :path of HTTP streams, kept only when routes may come from it (MON_ROUTE_PATTERNS...). */
const paths = new WeakMap<ServerHttp2Stream, string>();
/** The :path of gRPC calls to a method not named yet (the first calls to each, or unknown ones). */
const pendingPaths = new WeakMap<ServerHttp2Stream, string>();
/** methodIndex('POST'): every gRPC call is a POST. */
const POST = methodIndex('POST');
/** The deadline of gRPC calls that carry one (grpc-timeout), in milliseconds: a small integer. */
const deadlines = new WeakMap<ServerHttp2Stream, number>();

function onStreamStart(message: unknown): void {
  const { stream, headers } = message as StreamMessage;
  const path = headers[':path'];
  if (ignored !== undefined && ignored(path)) return;
  if (isGrpc(headers['content-type']) && headers[':method'] === 'POST') {
    if (rpc === undefined) return;
    let method = rpc.knownMethod(path);
    if (method === -1) {
      method = pending;
      pendingPaths.set(stream, path as string);
    }
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) deadlines.set(stream, timeoutMillis(timeout));
    inFlight.set(stream, -1 - (startTiming() * rpcSpan + method));
    return;
  }
  if (http === undefined) return;
  const slot = slotOf(methodIndex(headers[':method']), stream.session?.encrypted === true) + HTTP2_SLOT;
  inFlight.set(stream, startTiming() * SLOTS + slot);
  http.requestStarted(slot);
  if (routes?.usesPath === true && path !== undefined) paths.set(stream, path);
}

function onStreamClose(message: unknown): void {
  const { stream } = message as StreamMessage;
  const packed = inFlight.get(stream);
  if (packed === undefined) return;
  inFlight.delete(stream);
  if (packed >= 0) httpEnded(stream, packed);
  else callEnded(stream, -1 - packed);
}

function httpEnded(stream: ServerHttp2Stream, packed: number): void {
  const slot = packed % SLOTS;
  recordHttp(stream, slot, stopTiming((packed - slot) / SLOTS));
}

function recordHttp(stream: ServerHttp2Stream, slot: number, micros: number): void {
  const sent = stream.sentHeaders as Record<string, unknown> | undefined;
  // The status actually sent (0: no headers went out). An app may pass it as a string.
  const raw = sent === undefined ? 0 : sent[':status'];
  const code = typeof raw === 'number' ? raw : Number(raw);
  const status = code >= 100 && code <= 999 ? code | 0 : 0;
  // As for HTTP/1, a response the server had not ended: Node sets `aborted` when a stream closes
  // (reset by either side, session gone) before its writable side was ending. Not
  // writableFinished: the close channel fires before the stream's own 'finish'.
  const aborted = stream.aborted;
  let route: string | undefined;
  if (routes !== undefined) {
    try {
      // Framework routes are kept under the stream (frameworks/framework-routes.ts).
      route = routes.routeOf(stream as unknown as IncomingMessage, status, routes.usesPath ? (paths.get(stream) ?? '/') : undefined);
    } catch {
      // As in http-server.ts: the app's objects must never make this listener throw.
      route = undefined;
    }
  }
  http!.requestEnded(slot, status, aborted, route, micros);
}

function callEnded(stream: ServerHttp2Stream, unpacked: number): void {
  const method = unpacked % rpcSpan;
  const micros = stopTiming((unpacked - method) / rpcSpan);
  // grpc-status: in the trailers, or in the headers of a trailers-only response.
  const trailers = stream.sentTrailers as Record<string, unknown> | undefined;
  let value = trailers === undefined ? undefined : trailers['grpc-status'];
  if (value === undefined) {
    const sent = stream.sentHeaders as Record<string, unknown> | undefined;
    if (sent !== undefined) value = sent['grpc-status'];
  }
  if (value === undefined) {
    const sent = stream.sentHeaders as Record<string, unknown> | undefined;
    const answeredGrpc = sent !== undefined && isGrpc(sent['content-type']);
    if (sent !== undefined && !answeredGrpc) {
      // Answered, but not as gRPC: an HTTP request whose client claimed gRPC (see the top).
      if (http !== undefined) {
        const slot = slotOf(POST, stream.session?.encrypted === true) + HTTP2_SLOT;
        if (routes?.usesPath === true) paths.set(stream, pendingPaths.get(stream) ?? '/');
        http.requestStarted(slot);
        recordHttp(stream, slot, micros);
      }
      return;
    }
    // No status sent: the stream was reset (the deadline passed, or the client cancelled), or it
    // ended without one. Unless the server had begun a gRPC response, whether it speaks gRPC at
    // all is unknown: the call then names no method an answered call has not named before.
    const status = stream.rstCode ? statusOfUnanswered(stream.rstCode, deadlines.get(stream) ?? -1, micros) : UNKNOWN;
    const named = method !== pending ? method : answeredGrpc ? rpc!.methodOf(pendingPaths.get(stream), status) : OTHER;
    rpc!.record(undefined, named, status, micros);
    return;
  }
  const status = statusOf(value);
  rpc!.record(undefined, method === pending ? rpc!.methodOf(pendingPaths.get(stream), status) : method, status, micros);
}

/** Subscribes once; returns the function that unsubscribes. */
export function instrumentHttp2Servers(targets: Http2ServerTargets): () => void {
  ({ http, rpc, routes, ignored } = targets);
  rpcSpan = rpc === undefined ? 1 : rpc.methodSpan + 1;
  pending = rpcSpan - 1;
  dc.subscribe('http2.server.stream.start', onStreamStart);
  dc.subscribe('http2.server.stream.close', onStreamClose);
  return () => {
    dc.unsubscribe('http2.server.stream.start', onStreamStart);
    dc.unsubscribe('http2.server.stream.close', onStreamClose);
  };
}
