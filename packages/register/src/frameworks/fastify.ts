// Fastify 4 and 5: the `fastify.initialization` diagnostics channel hands over each instance as it
// is created; an onRequest hook reads `request.routeOptions.url`, a public field (the template with
// the plugin prefix), and keeps it per raw request.
import dc from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { MON_FRAMEWORK_CHANGED } from '@mon/warnings';
import { describe, warn } from '../warn.js';
import type { FrameworkRoutes } from './framework-routes.js';

const CHANNEL = 'fastify.initialization';

interface FastifyRequest {
  raw: IncomingMessage;
  routeOptions?: { url?: unknown };
}

interface FastifyLike {
  addHook: (name: 'onRequest', hook: (request: FastifyRequest, reply: unknown, done: () => void) => void) => void;
}

export function watchFastify(routes: FrameworkRoutes): () => void {
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
      if (typeof fastify?.addHook !== 'function') return;
      fastify.addHook('onRequest', onRequest);
    } catch (error) {
      warn(
        MON_FRAMEWORK_CHANGED,
        `could not add mon's route hook to a Fastify instance (${describe(error)}); its requests are counted without http.route. Report it with the Fastify version.`,
      );
    }
  };
  dc.subscribe(CHANNEL, onInstance);
  return () => dc.unsubscribe(CHANNEL, onInstance);
}
