// Route sources per framework, in the order DESIGN.md prefers: what the framework publishes (a
// public field or diagnostics channel), then the smallest wrap reached through Node's module-load
// tracing channels, only once the app loads the framework.
//   Express 4/5   req.route + mount path at match time   express.ts (used by routes.ts directly)
//   Fastify 5     the fastify.request.handler tracing channel, findRoute/hasRoute for early replies (no hook)   fastify.ts
//   Fastify 4     fastify.initialization channel + onRequest hook   fastify.ts
//   Koa 2/3 + @koa/router   ctx._matchedRoute, context found via a module-load accessor   koa.ts
//   hapi 21       request.route.path, request found via a module-load accessor   hapi.ts
//   h3 v2 / Nitro the h3.request tracing channel (h3's tracingPlugin registered)   h3.ts
//   Hono and others   opt-in: the app publishes { request, route } on mon:http:route   route-channel.ts
//   Next.js       its request metadata (Symbol.for('NextInternalRequestMeta')), read at the end   next.ts
import type { FrameworkRoutes } from './framework-routes.js';
import { watchFastify } from './fastify.js';
import { watchH3 } from './h3.js';
import { hapiWatch } from './hapi.js';
import { koaWatch } from './koa.js';
import { watchModuleLoads } from './module-loads.js';
import { nextRoute } from './next.js';
import { watchRouteChannel } from './route-channel.js';

/** Starts watching for every framework; returns the function that stops. */
export function watchFrameworks(routes: FrameworkRoutes): () => void {
  // Next.js needs no start-up: its metadata is read where present (one property read per request).
  routes.addLookup(nextRoute);
  const stops = [watchFastify(routes), watchH3(routes), watchRouteChannel(routes), watchModuleLoads([koaWatch(routes), hapiWatch(routes)])];
  return () => {
    for (const stop of stops) stop();
  };
}
