// The only code that runs per request. Every allocation is visible here: one WeakMap entry
// (a boxed number) at start, one listener registration; route resolution (routes.ts) hands back
// cached strings for routes it has seen.
//
// http.server.* channels are Stability 1 in Node; test/e2e covers the Node versions we claim.
// They fire for every node:http and node:https server in the process, ESM or CJS, with no loader
// hook and no patching.
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Config } from './config.js';
import { type HttpServerMetrics, SLOTS, methodIndex, slotOf } from './http-server-metrics.js';
import { createPathFilter, createRouteResolver } from './routes.js';

/** Set on servers whose requests are never counted: the metrics endpoint itself. */
const TELEMETRY_SERVER = Symbol.for('mon.telemetry-server');

interface RequestStart {
  request: IncomingMessage;
  response: ServerResponse;
  server: Server & { [TELEMETRY_SERVER]?: boolean };
}

type RouteOf = (request: IncomingMessage, status: number) => string | undefined;

/**
 * Start time and method/scheme slot of each request in flight, packed into one number so the
 * map holds no per-request object: whole microseconds since the time origin times SLOTS, plus
 * the slot. 2^53 / SLOTS µs is over four years of uptime.
 * The slot is fixed at the start, so middleware that rewrites req.method cannot unbalance the
 * active-requests count.
 */
const inFlight = new WeakMap<ServerResponse, number>();

let metrics: HttpServerMetrics;
let routeOf: RouteOf = () => undefined;
let ignored: ((url: string | undefined) => boolean) | undefined;

function onRequestStart(message: unknown): void {
  const { request, response, server } = message as RequestStart;
  if (server[TELEMETRY_SERVER] === true) return;
  if (ignored !== undefined && ignored(request.url)) return;
  const slot = slotOf(methodIndex(request.method), (request.socket as Socket & { encrypted?: boolean }).encrypted === true);
  inFlight.set(response, Math.round(performance.now() * 1000) * SLOTS + slot);
  metrics.requestStarted(slot);
  // 'close' fires once per response: after 'finish', or alone when the client went away. One
  // listener sees both, so an aborted request is counted once and never left active.
  response.on('close', onResponseClose);
}

function onResponseClose(this: ServerResponse): void {
  const packed = inFlight.get(this);
  if (packed === undefined) return;
  const slot = packed % SLOTS;
  const seconds = (performance.now() * 1000 - (packed - slot) / SLOTS) / 1e6;
  const status = this.headersSent ? this.statusCode : 0;
  let route: string | undefined;
  try {
    route = routeOf(this.req, status);
  } catch {
    // The route comes from the app's own objects; whatever they hold, this listener must not
    // throw into the app (it runs from the response's 'close' event). No try/catch cost unless thrown.
    route = undefined;
  }
  metrics.requestEnded(slot, status, !this.writableFinished, route, seconds > 0 ? seconds : 0);
}

/** Subscribes once; returns the function that unsubscribes. */
export function instrumentHttpServers(target: HttpServerMetrics, options: Config['http']): () => void {
  metrics = target;
  const routes = createRouteResolver({ patterns: options.routePatterns, normalize: options.normalizePaths, maxRoutes: options.maxRoutes });
  routeOf = routes.routeOf;
  ignored = options.ignorePaths ? createPathFilter(options.ignorePaths) : undefined;
  dc.subscribe('http.server.request.start', onRequestStart);
  return () => {
    dc.unsubscribe('http.server.request.start', onRequestStart);
    routes.stop();
  };
}
