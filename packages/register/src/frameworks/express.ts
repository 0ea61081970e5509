// Express 4 and 5: the mount path (`req.baseUrl`) as it was when the route matched.
//
// Express publishes the matched route as `req.route`, and it stays after the request leaves the
// router; `req.baseUrl` does not: Express restores it on the way out. So a route answered by an
// app-level error handler, or one that calls next() for later middleware to render (json-server
// answers every request that way), would end with the mount path gone. Both Express lines (and
// Express 5's `router` package) set `req.route = route` at the moment a route matches, while
// `req.baseUrl` is that router's mount path. An accessor for `route` on Express's own request
// prototype (the object `express.request`, below every app's `app.request`) sees that assignment:
// it keeps the route and the mount path in WeakMaps and makes `route` an own, enumerable property
// of the request, as the plain assignment would (Object.keys, spread and reads look the same).
//
// Express 5.3's router also publishes an `express.router.request` tracing channel, but it fires for
// every middleware and handler and allocates a context each time once subscribed, and names only
// the layer's own pattern; one assignment per matched route is cheaper and covers Express 4 too.
//
// How the prototype is found, with nothing per request for apps that are not Express:
// - when a server starts listening (the `tracing:net.server.listen` channel, Node >= 20.16 and
//   22), its 'request' listeners are looked at: an Express app is a function with `handle` and
//   `request`;
// - otherwise (an app wrapped in another listener, Node 20.6-20.15) at the end of the first
//   Express request, which itself keeps the mount path as it was at the end.
import { subscribe, unsubscribe } from '../channels.js';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { debug } from '../warn.js';

// node:http is reached when Express is first looked for (a server listening, a request), never at
// import: loading it costs ~10 ms of start-up on Node 24 in a process that has no server (test/bench/startup.mjs).
let incomingPrototype: object | undefined;
const incomingMessagePrototype = (): object =>
  (incomingPrototype ??= (createRequire(import.meta.url)('node:http') as typeof import('node:http')).IncomingMessage.prototype);

interface ListeningServer {
  listeners: (event: string) => unknown[];
  _events?: unknown;
}

/**
 * A server's 'request' listeners, read from EventEmitter's own store (`_events.request`: one
 * function or an array of them; Node 20-26) rather than through `server.listeners('request')`. On
 * Node 20 listeners() goes through events.js's hasEventListener(), whose keyed load `_events[type]`
 * Node itself runs once per request with 'close' (socket.removeListener in
 * ServerResponse.detachSocket): a second key there, 'request', turns that load megamorphic for the
 * life of the process, ~0.3 k instructions on every later request (test/bench/RESULTS.md,
 * "Instructions per request"). Node 22+ reads `_events[type]` in listeners() itself, apart from
 * removeListener. Should `_events` ever not be a plain store, listeners() still answers.
 */
function requestListeners(server: ListeningServer): unknown[] {
  const events = server._events;
  if (typeof events !== 'object' || events === null) return server.listeners('request');
  const stored = (events as { request?: unknown }).request;
  if (stored === undefined) return [];
  // As listeners() does: a once() listener is stored wrapped, the app's function in `.listener`.
  return (Array.isArray(stored) ? stored : [stored]).map((l) => (l as { listener?: unknown } | null)?.listener ?? l);
}

interface ExpressRequest extends IncomingMessage {
  route?: unknown;
  baseUrl?: unknown;
  originalUrl?: unknown;
  app?: { parent?: unknown };
}

const LISTEN_CHANNEL = 'tracing:net.server.listen:asyncStart';

export interface ExpressMountPaths {
  /** The mount path when `request.route` matched, if that moment was seen. */
  matchedBaseUrl: (request: IncomingMessage) => string | undefined;
  /** The mounted sub-app (`req.app`) the route matched in, if not the root app. */
  matchedSubApp: (request: IncomingMessage) => unknown;
  /** Looks for Express's request prototype from a request that matched a route (fallback). */
  learnFrom: (request: IncomingMessage) => void;
  stop: () => void;
}

export function captureExpressMountPaths(): ExpressMountPaths {
  const routes = new WeakMap<object, unknown>();
  const baseUrls = new WeakMap<object, string>();
  // Express restores `req.app` too when a request leaves a sub-app: a route of the sub-app
  // answered by the parent's middleware would otherwise lead the walk (express-mount.ts) to the
  // parent only. Kept for sub-apps alone (a root app has no `parent`).
  const subApps = new WeakMap<object, object>();
  /** Express request prototypes looked at (accessor installed or refused), so each is tried once. */
  const tried = new WeakSet<object>();
  const installed: object[] = [];

  function getRoute(this: object): unknown {
    return routes.get(this);
  }
  function setRoute(this: ExpressRequest, value: unknown): void {
    // Runs inside Express's routing: it must not throw, whatever the request holds.
    try {
      routes.set(this, value);
      const baseUrl = this.baseUrl;
      // A route matches `req.url`, which Express keeps as the path below the mount (`baseUrl`). An
      // app that puts the whole URL back inside a mount (verdaccio 6's log middleware sets
      // `req.url = req.originalUrl` while a request waits, so its web API routes are written with
      // their full path, `/-/verdaccio/data/packages`) had its route matched against the whole
      // path: the mount is not part of it, or the label names a path that does not exist.
      const url = this.url;
      baseUrls.set(this, typeof baseUrl !== 'string' || (typeof url === 'string' && url === this.originalUrl) ? '' : baseUrl);
      const app = this.app;
      if (app?.parent !== undefined) subApps.set(this, app);
      if (!Object.hasOwn(this, 'route')) Object.defineProperty(this, 'route', ownRoute);
    } catch {
      // `this` was not an object WeakMaps take (never for a request): nothing to remember.
    }
  }
  /** One descriptor, reused: defining the own property allocates nothing per request. */
  const ownRoute: PropertyDescriptor = { get: getRoute, set: setRoute, enumerable: true, configurable: true };

  /** `express.request`: the object just above IncomingMessage.prototype in a request's chain. */
  const install = (requestPrototype: object): void => {
    let proto: object | null = requestPrototype;
    while (proto !== null && Object.getPrototypeOf(proto) !== incomingMessagePrototype()) proto = Object.getPrototypeOf(proto);
    if (proto === null || tried.has(proto)) return;
    tried.add(proto);
    // Something (another tool, a future Express) already defines `route` there: leave it alone,
    // routes then carry the mount path as it is when the response ends.
    if (Object.getOwnPropertyDescriptor(proto, 'route') !== undefined || !Object.isExtensible(proto)) {
      debug('express: request prototype already has "route" or is frozen; mount paths are read at the end of each response');
      return;
    }
    Object.defineProperty(proto, 'route', { get: getRoute, set: setRoute, enumerable: false, configurable: true });
    installed.push(proto);
  };

  const onListen = (message: unknown): void => {
    try {
      const server = (message as { server?: ListeningServer }).server;
      if (typeof server?.listeners !== 'function') return;
      for (const listener of requestListeners(server)) {
        if (typeof listener !== 'function') continue;
        const app = listener as { handle?: unknown; request?: unknown };
        if (typeof app.handle === 'function' && typeof app.request === 'object' && app.request !== null) install(app.request);
      }
    } catch (error) {
      debug('express: could not inspect a listening server: %o', error);
    }
  };
  subscribe(LISTEN_CHANNEL, onListen);

  return {
    matchedBaseUrl: (request) => baseUrls.get(request),
    matchedSubApp: (request) => subApps.get(request),
    learnFrom: (request) => {
      const proto = Object.getPrototypeOf(request) as object | null;
      if (proto !== null && proto !== incomingMessagePrototype()) install(proto);
    },
    stop: () => {
      unsubscribe(LISTEN_CHANNEL, onListen);
      // Requests already carrying the own accessor keep working: the WeakMaps stay reachable.
      for (const proto of installed) delete (proto as { route?: unknown }).route;
      installed.length = 0;
    },
  };
}

/**
 * A route whose whole path is a wildcard (`*`, `/*`, `*path`, `/{*splat}`) answering 404 is the
 * app's not-found page (Express's usual custom 404, NestJS's not-found handler): no route, as
 * for any path the app does not have. `/files/*` answering 404 keeps its route.
 */
export function isCatchAllNotFound(route: object, status: number): boolean {
  if (status !== 404) return false;
  const path = (route as { path?: unknown }).path;
  return typeof path === 'string' && /^\/?\{?\*/.test(path);
}
