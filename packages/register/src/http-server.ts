// The only code that runs per request, written to allocate nothing on the JS heap beyond what
// Node itself does (test/bench/allocations.mjs measures it against a bare subscriber):
// - the start time goes into a BigInt64Array slot whose index, a small integer, is kept in the
//   socket's Connection: a double there would be a 16-byte heap number per request (see the clock);
// - the end is Node's own http.server.response.finish message; a request that never finishes ends
//   with its socket's 'close', one listener per connection, not per request;
// - route resolution (routes.ts) hands back cached strings.
//
// http.server.* channels are Stability 1 in Node; test/e2e covers the Node versions we claim.
// They fire for every node:http and node:https server in the process, ESM or CJS, with no loader
// hook and no patching.
import { subscribe, unsubscribe } from './channels.js';
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
  socket: Socket & { encrypted?: boolean };
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
 * Ids of requests in flight index startTimes (nanoseconds, read back as 32-bit halves so the
 * difference is computed exactly without creating a BigInt); ids are reused through a free list.
 */
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

/** A pipelined request waiting behind the one being answered (rare: allocated only then). */
interface Waiting {
  response: ServerResponse;
  packed: number;
}

/**
 * One connection's requests in flight, kept per socket rather than per response: a keep-alive
 * connection serves many requests, and a WeakMap entry for a fresh object per request (V8 gives each
 * its identity hash, then an ephemeron-table entry to insert, delete and rehash) cost ~1 k
 * instructions a request (test/bench/RESULTS.md, "Instructions per request"). Node answers a
 * socket's requests in the order they arrived (HTTP/1.1 pipelining; _http_server.js asserts it), so
 * the oldest in flight is the next to finish. `packed` is id * SLOTS + slot, a small integer (a V8
 * Smi, stored without allocating) while fewer than 2^30 / SLOTS requests are in flight at once; the
 * slot (method and scheme) is fixed at the start, so middleware that rewrites req.method cannot
 * unbalance the active-requests count.
 */
class Connection {
  /** The oldest request in flight, the one being answered; null when none is. */
  response: ServerResponse | null = null;
  packed = 0;
  /** Pipelined requests behind it, oldest first; undefined until a client pipelines. */
  waiting: Waiting[] | undefined = undefined;
}

const connections = new WeakMap<Socket, Connection>();
/**
 * The socket last looked up and its connection. A request's finish usually comes right after its
 * start when the handler answers at once, and a keep-alive client's next request on the same
 * socket: one compare instead of a WeakMap lookup. Cleared when that socket closes, so a closed
 * socket is never kept alive by it.
 */
let lastSocket: Socket | undefined;
let lastConnection: Connection | undefined;

function connectionOf(socket: Socket): Connection {
  const connection = new Connection();
  connections.set(socket, connection);
  // Once per connection. A request whose response never finished (the client went away, the app
  // destroyed the socket, a timeout) ends here, counted as aborted; so do pipelined ones queued
  // behind it, on which Node never emits anything.
  socket.on('close', onSocketClose);
  return connection;
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
  const packed = startTiming() * SLOTS + slot;
  metrics.requestStarted(slot);
  const connection = socket === lastSocket ? lastConnection! : (connections.get(socket) ?? connectionOf(socket));
  lastSocket = socket;
  lastConnection = connection;
  if (connection.response === null) {
    connection.response = response;
    connection.packed = packed;
  } else {
    // HTTP pipelining: answered after the ones before it on this socket.
    (connection.waiting ??= []).push({ response, packed });
  }
}

// http.server.response.finish: published by Node when the response has been handed to the socket
// whole, before it moves on to the socket's next request.
function onResponseFinish(message: unknown): void {
  const { response, socket } = message as RequestStart;
  const connection = socket === lastSocket ? lastConnection : connections.get(socket);
  // A request not counted (the metrics endpoint's, an ignored path): never in a connection.
  if (connection === undefined) return;
  if (connection.response === response) {
    const packed = connection.packed;
    next(connection);
    ended(response, packed, false);
  } else if (connection.waiting !== undefined) {
    // Not the oldest: an ignored request between counted ones finishes here and is in no list.
    // Should a counted one ever finish out of order, it is found among the waiting all the same.
    const waiting = connection.waiting;
    for (let i = 0; i < waiting.length; i++) {
      if (waiting[i]!.response === response) {
        const { packed } = waiting[i]!;
        waiting.splice(i, 1);
        ended(response, packed, false);
        return;
      }
    }
  }
}

/** The next request on the connection becomes the one being answered. */
function next(connection: Connection): void {
  const waiting = connection.waiting;
  const following = waiting === undefined ? undefined : waiting.shift();
  if (following === undefined) {
    connection.response = null;
  } else {
    connection.response = following.response;
    connection.packed = following.packed;
  }
}

function onSocketClose(this: Socket): void {
  if (this === lastSocket) {
    lastSocket = undefined;
    lastConnection = undefined;
  }
  const connection = connections.get(this);
  if (connection === undefined) return;
  // Everything still in flight on a closed connection was never answered in full.
  while (connection.response !== null) {
    const response = connection.response;
    const packed = connection.packed;
    next(connection);
    ended(response, packed, !response.writableFinished);
  }
}

function ended(response: ServerResponse, packed: number, aborted: boolean): void {
  const slot = packed % SLOTS;
  const micros = stopTiming((packed - slot) / SLOTS);
  const status = response.headersSent ? response.statusCode : 0;
  let route: string | undefined;
  try {
    route = routeOf(response.req, status);
  } catch {
    // The route comes from the app's own objects; whatever they hold, this must not throw into the
    // app (it runs from Node's 'finish' and 'close' events). No try/catch cost unless thrown.
    route = undefined;
  }
  metrics.requestEnded(slot, status, aborted, route, micros);
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
  subscribe('http.server.request.start', onRequestStart);
  subscribe('http.server.response.finish', onResponseFinish);
  return () => {
    unsubscribe('http.server.request.start', onRequestStart);
    unsubscribe('http.server.response.finish', onResponseFinish);
    routes.stop();
  };
}
