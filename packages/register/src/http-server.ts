// The only code that runs per request, written to allocate nothing on the JS heap beyond what
// Node itself does (test/bench/allocations.mjs measures it against a bare subscriber):
// - the start time goes into a BigInt64Array slot whose index, a small integer, is the WeakMap
//   value: a double as the value would be a 16-byte heap number per request (see the clock below);
// - one 'close' listener per response; route resolution (routes.ts) hands back cached strings.
//
// http.server.* channels are Stability 1 in Node; test/e2e covers the Node versions we claim.
// They fire for every node:http and node:https server in the process, ESM or CJS, with no loader
// hook and no patching.
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
// Set on servers whose requests are never counted: the metrics endpoint itself.
import { TELEMETRY_SERVER } from '@mon/prometheus/telemetry-server';
import type { Config } from './config.js';
import { type HttpServerMetrics, SLOTS, methodIndex, slotOf } from './http-server-metrics.js';
import { createPathFilter, createRouteResolver, type RouteResolver } from './routes.js';

interface RequestStart {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket & { _httpMessage?: ServerResponse | null; encrypted?: boolean };
  server: Server & { [TELEMETRY_SERVER]?: boolean };
}

type RouteOf = (request: IncomingMessage, status: number) => string | undefined;

// The clock: process.hrtime.bigint(), taken once (fake-timer libraries replace it in tests and
// must not skew durations). It is a two-line function V8 always inlines, and a BigInt stored straight
// into a BigInt64Array is never boxed in optimized code. performance.now() returns a freshly
// allocated heap number on every call (Node 20), and process.hrtime()'s [s, ns] array is only
// removed when V8's inlining budget reaches it, which Node's publish() exhausts.
const hrtimeBigint = process.hrtime.bigint;
/** Word order of a 64-bit integer seen as two 32-bit halves. */
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;
const now = new BigInt64Array(1);
const nowWords = new Uint32Array(now.buffer);

/**
 * Requests in flight: response -> id * SLOTS + slot, a small integer (a V8 Smi, stored without
 * allocating) as long as fewer than 2^30 / SLOTS requests are in flight at once. The id indexes
 * startTimes (nanoseconds, read back as 32-bit halves so the difference is computed exactly without
 * creating a BigInt); ids are reused through a free list. The slot (method and scheme) is fixed at
 * the start, so middleware that rewrites req.method cannot unbalance the active-requests count.
 */
const inFlight = new WeakMap<ServerResponse, number>();
let startTimes = new BigInt64Array(256);
let startWords = new Uint32Array(startTimes.buffer);
let freeIds = new Int32Array(256);
let freeCount = 0;
let nextId = 0;

function acquireId(): number {
  if (freeCount > 0) return freeIds[--freeCount]!;
  if (nextId === startTimes.length) {
    // More requests in flight than ever before: double both arrays (rare, amortized).
    const grown = new BigInt64Array(startTimes.length * 2);
    grown.set(startTimes);
    startTimes = grown;
    startWords = new Uint32Array(grown.buffer);
    const grownFree = new Int32Array(grown.length);
    grownFree.set(freeIds);
    freeIds = grownFree;
  }
  return nextId++;
}

/** Whole microseconds since the request with this id started (see Series for why integers). */
function microsSince(id: number): number {
  now[0] = hrtimeBigint();
  const at = id * 2;
  const ns = (nowWords[HI]! - startWords[at + HI]!) * 4294967296 + (nowWords[LO]! - startWords[at + LO]!);
  return ns > 0 ? Math.round(ns / 1000) : 0;
}

/** Starts timing a request: its id, for stopTiming. Shared with the HTTP/2 recorder (http2/server.ts). */
export function startTiming(): number {
  const id = acquireId();
  startTimes[id] = hrtimeBigint();
  return id;
}

/** Whole microseconds since startTiming gave this id; the id is free again afterwards. */
export function stopTiming(id: number): number {
  const micros = microsSince(id);
  freeIds[freeCount++] = id;
  return micros;
}

/**
 * Pipelined requests queued behind another response on the same socket. If the client goes away
 * before they are answered, Node never emits 'close' on their responses: they are ended here, when
 * their socket closes, or they would stay "active" forever (and keep their id).
 */
const queuedBySocket = new WeakMap<Socket, Set<ServerResponse>>();
let queuedCount = 0;

function watchQueued(socket: Socket, response: ServerResponse): void {
  let queued = queuedBySocket.get(socket);
  if (queued === undefined) {
    const responses = new Set<ServerResponse>();
    queued = responses;
    queuedBySocket.set(socket, responses);
    socket.once('close', () => {
      for (const abandoned of responses) onResponseClose.call(abandoned);
    });
  }
  queued.add(response);
  queuedCount++;
}

/** Where requests are recorded: the metrics, or (in a worker thread) a forwarder (worker-thread.ts). */
export type HttpRecorder = Pick<HttpServerMetrics, 'requestStarted' | 'requestEnded'>;

let metrics: HttpRecorder;
let routeOf: RouteOf = () => undefined;
let ignored: ((url: string | undefined) => boolean) | undefined;

function onRequestStart(message: unknown): void {
  const { request, response, socket, server } = message as RequestStart;
  if (server[TELEMETRY_SERVER] === true) return;
  if (ignored !== undefined && ignored(request.url)) return;
  const slot = slotOf(methodIndex(request.method), socket.encrypted === true);
  const id = acquireId();
  startTimes[id] = hrtimeBigint();
  inFlight.set(response, id * SLOTS + slot);
  metrics.requestStarted(slot);
  // Node publishes before it attaches the response: a socket still busy with an earlier response
  // means this one is queued behind it (HTTP pipelining).
  if (socket._httpMessage != null) watchQueued(socket, response);
  // 'close' fires once per response: after 'finish', or alone when the client went away. One
  // listener sees both, so an aborted request is counted once and never left active.
  response.on('close', onResponseClose);
}

function onResponseClose(this: ServerResponse): void {
  const packed = inFlight.get(this);
  if (packed === undefined) return;
  inFlight.delete(this);
  const slot = packed % SLOTS;
  const id = (packed - slot) / SLOTS;
  const micros = microsSince(id);
  freeIds[freeCount++] = id;
  if (queuedCount !== 0) {
    const socket = this.req?.socket;
    if (socket != null && queuedBySocket.get(socket)?.delete(this) === true) queuedCount--;
  }
  const status = this.headersSent ? this.statusCode : 0;
  let route: string | undefined;
  try {
    route = routeOf(this.req, status);
  } catch {
    // The route comes from the app's own objects; whatever they hold, this listener must not
    // throw into the app (it runs from the response's 'close' event). No try/catch cost unless thrown.
    route = undefined;
  }
  metrics.requestEnded(slot, status, !this.writableFinished, route, micros);
}

/**
 * Subscribes once; returns the function that unsubscribes. `routes`: a resolver shared with the
 * HTTP/2 recorder (one route budget, one set of framework hooks); by default one of its own.
 */
export function instrumentHttpServers(
  target: HttpRecorder,
  options: Config['http'],
  routes: RouteResolver = createRouteResolver({ patterns: options.routePatterns, normalize: options.normalizePaths, maxRoutes: options.maxRoutes }),
): () => void {
  metrics = target;
  routeOf = routes.routeOf;
  ignored = options.ignorePaths ? createPathFilter(options.ignorePaths) : undefined;
  dc.subscribe('http.server.request.start', onRequestStart);
  return () => {
    dc.unsubscribe('http.server.request.start', onRequestStart);
    routes.stop();
  };
}
