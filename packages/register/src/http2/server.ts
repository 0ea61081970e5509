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
// Per stream: a few numbers written into its session's StreamTable (stream-table.ts), made once
// per session, and the same clock as http-server.ts (startTiming/stopTiming): no allocation per
// stream. A WeakMap entry keyed by the ServerHttp2Stream, as this file had first, cost ~90 B per
// stream in V8's table (test/bench/http2.mjs, the floor+WeakMap row; RESULTS.md "HTTP/2 and gRPC").
import { subscribe, unsubscribe } from '../channels.js';
import type { IncomingMessage } from 'node:http';
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { HTTP2_SLOT, SLOTS, methodIndex, slotOf } from '../http-server-metrics.js';
import { startTiming, stopTiming, type HttpRecorder } from '../http-server.js';
import type { RouteResolver } from '../routes.js';
import { UNKNOWN, isGrpc, statusOf, statusOfUnanswered, timeoutMillis } from './grpc-status.js';
import { OTHER, type RpcMetrics } from './rpc-metrics.js';
import { StreamTable } from './stream-table.js';

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
/** rpc.methodSpan, plus one for "not known yet" (its :path waits in the stream table). */
let rpcSpan = 1;
let pending = 0;

/**
 * Streams in flight, per session: its table, made when its first stream starts, gone with the
 * session. In the table, HTTP: id * SLOTS + slot (>= 0), as http-server.ts packs a response; gRPC:
 * -1 - (id * rpcSpan + method), negative, so one column holds both.
 */
const sessions = new WeakMap<Http2Session, StreamTable>();
/** methodIndex('POST'): every gRPC call is a POST. */
const POST = methodIndex('POST');

function onStreamStart(message: unknown): void {
  const { stream, headers } = message as StreamMessage;
  const path = headers[':path'];
  if (ignored !== undefined && ignored(path)) return;
  const session = stream.session;
  if (session === undefined) return;
  let table = sessions.get(session);
  if (isGrpc(headers['content-type']) && headers[':method'] === 'POST') {
    if (rpc === undefined) return;
    if (table === undefined) sessions.set(session, (table = new StreamTable(session.encrypted === true)));
    let method = rpc.knownMethod(path);
    if (method === -1) method = pending;
    const timeout = headers['grpc-timeout'];
    // The :path is kept for a method not named yet (the first calls to each, or unknown ones).
    table.add(stream.id!, -1 - (startTiming() * rpcSpan + method), timeout === undefined ? -1 : timeoutMillis(timeout), method === pending ? path : undefined);
    return;
  }
  if (http === undefined) return;
  if (table === undefined) sessions.set(session, (table = new StreamTable(session.encrypted === true)));
  const slot = slotOf(methodIndex(headers[':method']), table.encrypted) + HTTP2_SLOT;
  // The :path is kept only when routes may come from it (MON_ROUTE_PATTERNS...).
  table.add(stream.id!, startTiming() * SLOTS + slot, -1, routes?.usesPath === true ? path : undefined);
  http.requestStarted(slot);
}

function onStreamClose(message: unknown): void {
  const { stream } = message as StreamMessage;
  // Node publishes close before it lets go of the stream's session (closeStream in
  // lib/internal/http2/core.js reads it), on Node 22, 24 and 26.
  const session = stream.session;
  const table = session === undefined ? undefined : sessions.get(session);
  if (table === undefined) return;
  const i = table.find(stream.id!);
  if (i === -1) return;
  const packed = table.packed[i]!;
  const deadline = table.deadlines[i]!;
  const path = table.paths[i];
  const encrypted = table.encrypted;
  table.removeAt(i);
  if (packed >= 0) httpEnded(stream, packed, path);
  else callEnded(stream, -1 - packed, deadline, path, encrypted);
}

function httpEnded(stream: ServerHttp2Stream, packed: number, path: string | undefined): void {
  const slot = packed % SLOTS;
  recordHttp(stream, slot, stopTiming((packed - slot) / SLOTS), path);
}

function recordHttp(stream: ServerHttp2Stream, slot: number, micros: number, path: string | undefined): void {
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
      route = routes.routeOf(stream as unknown as IncomingMessage, status, routes.usesPath ? (path ?? '/') : undefined);
    } catch {
      // As in http-server.ts: the app's objects must never make this listener throw.
      route = undefined;
    }
  }
  http!.requestEnded(slot, status, aborted, route, micros);
}

/** `path`: the call's :path if its method was not named at its start. */
function callEnded(stream: ServerHttp2Stream, unpacked: number, deadline: number, path: string | undefined, encrypted: boolean): void {
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
        const slot = slotOf(POST, encrypted) + HTTP2_SLOT;
        http.requestStarted(slot);
        recordHttp(stream, slot, micros, path);
      }
      return;
    }
    // No status sent: the stream was reset (the deadline passed, or the client cancelled), or it
    // ended without one. Unless the server had begun a gRPC response, whether it speaks gRPC at
    // all is unknown: the call then names no method an answered call has not named before.
    const status = stream.rstCode ? statusOfUnanswered(stream.rstCode, deadline, micros) : UNKNOWN;
    const named = method !== pending ? method : answeredGrpc ? rpc!.methodOf(path, status) : OTHER;
    rpc!.record(undefined, named, status, micros);
    return;
  }
  const status = statusOf(value);
  rpc!.record(undefined, method === pending ? rpc!.methodOf(path, status) : method, status, micros);
}

/** Subscribes once; returns the function that unsubscribes. */
export function instrumentHttp2Servers(targets: Http2ServerTargets): () => void {
  ({ http, rpc, routes, ignored } = targets);
  rpcSpan = rpc === undefined ? 1 : rpc.methodSpan + 1;
  pending = rpcSpan - 1;
  subscribe('http2.server.stream.start', onStreamStart);
  subscribe('http2.server.stream.close', onStreamClose);
  return () => {
    unsubscribe('http2.server.stream.start', onStreamStart);
    unsubscribe('http2.server.stream.close', onStreamClose);
  };
}
