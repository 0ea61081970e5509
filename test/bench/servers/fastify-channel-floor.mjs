// Node's (and Fastify's) floor for the Fastify app in instructions.mjs, with hook-floor.mjs: a
// subscriber that does nothing on the `tracing:fastify.request.handler:start` channel mon reads
// Fastify 5's routes from. Once the tracing channel has a subscriber, Fastify builds a store per
// request (`{ request, reply, async, route: { url, method } }`, kept on the reply) and publishes it
// on start, end, asyncStart and asyncEnd (lib/handle-request.js, lib/wrap-thenable.js): Fastify's
// work, paid by any subscriber. What mon costs above this floor is mon's own.
import dc from 'node:diagnostics_channel';

let last;
dc.subscribe('tracing:fastify.request.handler:start', (message) => {
  last = message;
});
process.once('exit', () => last);
