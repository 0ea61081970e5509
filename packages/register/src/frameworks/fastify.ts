// Fastify 4 and 5: the `fastify.initialization` diagnostics channel hands over each instance as it
// is created. The template is Fastify's own route url (with the plugin prefix), kept per raw request.
// - Fastify 5 publishes the `fastify.request.handler` tracing channel as it runs a route's handler,
//   with `{ request, reply, route: { url, method } }`: mon subscribes to its start and touches no
//   instance, so what the app sees of itself (`hasHook`, `printRoutes`, `printPlugins`, its hook
//   lists and plugin queue) is as without mon (Fastify's own hooks and pretty-print tests failed
//   under mon's hook: issue 24). A request answered before its handler runs (an onRequest or
//   preHandler hook replying, a schema validation error) never reaches that channel: at its end,
//   its route is looked up through Fastify's public router API (reconstructRoute, below).
// - Fastify 4 publishes nothing per request: an onRequest hook on each instance reads
//   `request.routeOptions.url` (a public field). The app can see that hook: `hasHook('onRequest')`
//   is true, `printRoutes({ includeHooks: true })` lists it, `printPlugins()` shows one more
//   `bound _after` step (addHook queues it).
import { subscribe, unsubscribe } from '../channels.js';
import type { IncomingMessage } from 'node:http';
import { MON_FRAMEWORK_CHANGED } from '@mon/warnings';
import { describe, warn } from '../warn.js';
import type { FrameworkRoutes } from './framework-routes.js';

const INITIALIZATION = 'fastify.initialization';
const HANDLER_START = 'tracing:fastify.request.handler:start';

interface FastifyRequest {
  raw: IncomingMessage;
  routeOptions?: { url?: unknown };
}

interface FastifyLike {
  version?: unknown;
  server?: unknown;
  addHook: (name: 'onRequest', hook: (request: FastifyRequest, reply: unknown, done: () => void) => void) => void;
  findRoute?: (options: { method: string; url: string }) => { params?: Record<string, unknown> } | null;
  hasRoute?: (options: { method: string; url: string }) => boolean;
}

interface HandlerStart {
  request?: { raw?: unknown };
  route?: { url?: unknown };
}

export function watchFastify(routes: FrameworkRoutes): () => void {
  // Runs inside Fastify's request handling: a throw from a channel subscriber would surface as an
  // uncaught exception, so every read is checked (Fastify's plain objects: nothing here can throw).
  const onHandlerStart = (message: unknown): void => {
    const store = message as HandlerStart | null;
    const url = store?.route?.url;
    const raw = store?.request?.raw;
    if (typeof url === 'string' && typeof raw === 'object' && raw !== null) routes.record(raw as IncomingMessage, url);
  };
  let handlerWatched = false;
  // Fastify 5 instances by the server they answer on, for requests the channel never saw.
  const instances = new WeakMap<object, FastifyLike>();
  const answeredEarly = (request: IncomingMessage, status: number): string | undefined => {
    if (status === 404 || status === 0) return undefined;
    const server = (request.socket as { server?: unknown } | null)?.server;
    const fastify = typeof server === 'object' && server !== null ? instances.get(server) : undefined;
    return fastify === undefined ? undefined : reconstructRoute(fastify, request);
  };

  const onRequest = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
    // Runs inside Fastify's request lifecycle: whatever the request holds, no throw may reach it.
    try {
      const url = request.routeOptions?.url;
      if (typeof url === 'string') routes.record(request.raw, url);
    } catch {
      // No route for this request.
    }
    done();
  };
  const onInstance = (message: unknown): void => {
    // The subscriber runs inside `fastify()`: Node turns a throw here into an uncaught exception.
    try {
      const fastify = (message as { fastify?: FastifyLike } | null)?.fastify;
      if (typeof fastify !== 'object' && typeof fastify !== 'function') return;
      if (fastify === null) return;
      const major = typeof fastify.version === 'string' ? Number.parseInt(fastify.version, 10) : Number.NaN;
      if (major >= 5) {
        if (!handlerWatched) {
          handlerWatched = true;
          subscribe(HANDLER_START, onHandlerStart);
          routes.addLookup(answeredEarly);
        }
        if (typeof fastify.server === 'object' && fastify.server !== null) instances.set(fastify.server, fastify);
        return;
      }
      if (typeof fastify.addHook !== 'function') return;
      fastify.addHook('onRequest', onRequest);
    } catch (error) {
      warn(
        MON_FRAMEWORK_CHANGED,
        `could not add mon's route hook to a Fastify instance (${describe(error)}); its requests are counted without http.route. Report it with the Fastify version.`,
      );
    }
  };
  subscribe(INITIALIZATION, onInstance);
  return () => {
    unsubscribe(INITIALIZATION, onInstance);
    if (handlerWatched) unsubscribe(HANDLER_START, onHandlerStart);
  };
}

/**
 * The route of a request Fastify 5 answered before its handler ran, or undefined. Fastify's own
 * router finds the route and its parameters (`findRoute`); the template is the path with each
 * parameter's value put back as `:name` (the wildcard's as `*`), and is kept only if Fastify 5's
 * `hasRoute` knows it as a registered pattern, so no text of the client's survives: a route it
 * cannot be rebuilt from (two parameters in one segment, a regex parameter) gives no route.
 * Not on Fastify 4, whose hasRoute matches a URL rather than a pattern. Runs only at the end of
 * requests the channel did not name (hooks replying, validation errors), two router lookups each.
 */
function reconstructRoute(fastify: FastifyLike, request: IncomingMessage): string | undefined {
  const method = request.method;
  const url = request.url;
  if (typeof method !== 'string' || typeof url !== 'string' || typeof fastify.findRoute !== 'function' || typeof fastify.hasRoute !== 'function') return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const found = fastify.findRoute({ method, url: path });
  if (found === null || typeof found !== 'object') return undefined;
  const params = found.params ?? {};
  const parts = path.split('/');
  let end = parts.length;
  let tail = '';
  const wildcard = params['*'];
  if (typeof wildcard === 'string') {
    let k = parts.length;
    while (k > 1 && decoded(parts.slice(k).join('/')) !== wildcard) k--;
    if (decoded(parts.slice(k).join('/')) !== wildcard) return undefined;
    end = k;
    tail = '/*';
  }
  const names = Object.keys(params).filter((name) => name !== '*');
  let template = '';
  for (let i = 0; i < end; i++) {
    const segment = decoded(parts[i]!);
    const name = segment === '' ? undefined : names.find((n) => params[n] === segment);
    template += (i === 0 ? '' : '/') + (name === undefined ? parts[i] : `:${name}`);
  }
  template += tail;
  return fastify.hasRoute({ method, url: template }) === true ? template : undefined;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
