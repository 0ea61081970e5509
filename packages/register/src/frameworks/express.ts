// Express 4 and 5: the mount path (`req.baseUrl`) as it was when the route matched.
//
// Express publishes the matched route as `req.route`, and it stays after the request leaves the
// router; `req.baseUrl` does not: Express restores it on the way out. So a route answered by an
// app-level error handler, or one that calls next() for later middleware to render (json-server
// answers every request that way), would end with the mount path gone. Both Express lines (and
// Express 5's `router` package) set `req.route = route` at the moment a route matches, while
// `req.baseUrl` is that router's mount path. An accessor for `route` on Express's own request
// prototype (the object `express.request`, below every app's `app.request`) sees that assignment:
// it keeps the route and the mount path in private fields of the request (stamp.ts: no WeakMap entry
// per request) and makes `route` an own, enumerable property of the request, as the plain assignment
// would (Object.keys, spread and reads look the same).
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
import dc from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { debug } from '../warn.js';
import { Stamp } from '../stamp.js';

// node:http is reached when Express is first looked for (a server listening, a request), never at
// import: loading it costs ~10 ms of start-up on Node 24 in a process that has no server (test/bench/startup.mjs).
let incomingPrototype: object | undefined;
const incomingMessagePrototype = (): object =>
  (incomingPrototype ??= (createRequire(import.meta.url)('node:http') as typeof import('node:http')).IncomingMessage.prototype);

interface ExpressRequest extends IncomingMessage {
  route?: unknown;
  baseUrl?: unknown;
  originalUrl?: unknown;
  app?: { parent?: unknown };
}

const LISTEN_CHANNEL = 'tracing:net.server.listen:asyncStart';

/** What the accessor saw when a route matched, in private fields of the request (stamp.ts). */
class Matched extends Stamp {
  #route: unknown = undefined;
  /** Undefined until a match's mount path was read (routes.ts then reads the one of the end). */
  #baseUrl: string | undefined = undefined;
  // Express restores `req.app` too when a request leaves a sub-app: a route of the sub-app
  // answered by the parent's middleware would otherwise lead the walk (express-mount.ts) to the
  // parent only. Kept for sub-apps alone (a root app has no `parent`).
  #subApp: object | undefined = undefined;

  /** The route first, so that reads of `req.route` see it whatever happens next. */
  static setRoute(request: object, route: unknown): void {
    if (#route in request) (request as Matched).#route = route;
    else new Matched(request).#route = route;
  }

  /** After setRoute: the mount path and sub-app of that match. */
  static setMount(request: object, baseUrl: string, subApp: object | undefined): void {
    const matched = request as Matched;
    matched.#baseUrl = baseUrl;
    if (subApp !== undefined) matched.#subApp = subApp;
  }

  /** `request` may be anything a getter is called on (the prototype itself, a primitive). */
  static route(request: unknown): unknown {
    return typeof request === 'object' && request !== null && #route in request ? (request as Matched).#route : undefined;
  }

  static baseUrl(request: object): string | undefined {
    return #route in request ? (request as Matched).#baseUrl : undefined;
  }

  static subApp(request: object): object | undefined {
    return #route in request ? (request as Matched).#subApp : undefined;
  }
}

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
  /** Express request prototypes looked at (accessor installed or refused), so each is tried once. */
  const tried = new WeakSet<object>();
  const installed: object[] = [];

  function getRoute(this: object): unknown {
    return Matched.route(this);
  }
  function setRoute(this: ExpressRequest, value: unknown): void {
    // Runs inside Express's routing: it must not throw, whatever the request holds.
    try {
      Matched.setRoute(this, value);
      const baseUrl = this.baseUrl;
      // A route matches `req.url`, which Express keeps as the path below the mount (`baseUrl`). An
      // app that puts the whole URL back inside a mount (verdaccio 6's log middleware sets
      // `req.url = req.originalUrl` while a request waits, so its web API routes are written with
      // their full path, `/-/verdaccio/data/packages`) had its route matched against the whole
      // path: the mount is not part of it, or the label names a path that does not exist.
      const url = this.url;
      const app = this.app;
      Matched.setMount(
        this,
        typeof baseUrl !== 'string' || (typeof url === 'string' && url === this.originalUrl) ? '' : baseUrl,
        app?.parent !== undefined ? app : undefined,
      );
      if (!Object.hasOwn(this, 'route')) Object.defineProperty(this, 'route', ownRoute);
    } catch {
      // A getter on `baseUrl`, `url` or `app` threw (never Express's own): nothing to remember.
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
      const server = (message as { server?: { listeners?: (event: string) => unknown[] } }).server;
      if (typeof server?.listeners !== 'function') return;
      for (const listener of server.listeners('request')) {
        if (typeof listener !== 'function') continue;
        const app = listener as { handle?: unknown; request?: unknown };
        if (typeof app.handle === 'function' && typeof app.request === 'object' && app.request !== null) install(app.request);
      }
    } catch (error) {
      debug('express: could not inspect a listening server: %o', error);
    }
  };
  dc.subscribe(LISTEN_CHANNEL, onListen);

  return {
    matchedBaseUrl: (request) => Matched.baseUrl(request),
    matchedSubApp: (request) => Matched.subApp(request),
    learnFrom: (request) => {
      const proto = Object.getPrototypeOf(request) as object | null;
      if (proto !== null && proto !== incomingMessagePrototype()) install(proto);
    },
    stop: () => {
      dc.unsubscribe(LISTEN_CHANNEL, onListen);
      // Requests already carrying the own accessor keep working: their fields stay with them.
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
