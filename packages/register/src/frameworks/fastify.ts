// Fastify 4 and 5: the `fastify.initialization` diagnostics channel hands over each instance as it
// is created. The template is Fastify's own route url (with the plugin prefix), kept per raw request.
// - Fastify 5 publishes the `fastify.request.handler` tracing channel as it runs a route's handler,
//   with `{ request, reply, route: { url, method } }`: mon subscribes to its start and touches no
//   instance, so what the app sees of itself (`hasHook`, `printRoutes`, `printPlugins`, its hook
//   lists and plugin queue) is as without mon (Fastify's own hooks and pretty-print tests failed
//   under mon's hook: issue 24). A request answered before its handler runs (an onRequest or
//   preHandler hook replying, a schema validation error) has no route.
// - Fastify 4 publishes nothing per request: an onRequest hook on each instance reads
//   `request.routeOptions.url` (a public field). The app can see that hook: `hasHook('onRequest')`
//   is true, `printRoutes({ includeHooks: true })` lists it, `printPlugins()` shows one more
//   `bound _after` step (addHook queues it).
import dc from 'node:diagnostics_channel';
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
  addHook: (name: 'onRequest', hook: (request: FastifyRequest, reply: unknown, done: () => void) => void) => void;
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
          dc.subscribe(HANDLER_START, onHandlerStart);
        }
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
  dc.subscribe(INITIALIZATION, onInstance);
  return () => {
    dc.unsubscribe(INITIALIZATION, onInstance);
    if (handlerWatched) dc.unsubscribe(HANDLER_START, onHandlerStart);
  };
}
