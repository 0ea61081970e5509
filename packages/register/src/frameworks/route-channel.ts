// The opt-in for frameworks that publish their route nowhere mon can read it (Hono on
// @hono/node-server): the app publishes `{ request, route }` on the `mon:http:route` diagnostics
// channel once its router has answered, with `request` the node:http IncomingMessage and `route`
// the template. No dependency on mon: if mon is not loaded the channel has no subscriber and the
// publish does nothing. docs/routes.md shows the line for Hono.
//
// A 404 keeps no route from here: a catch-all middleware that publishes after every request
// would otherwise name the paths no route matched by its own pattern (`/*`).
import { subscribe, unsubscribe } from '../channels.js';
import type { IncomingMessage } from 'node:http';
import type { FrameworkRoutes } from './framework-routes.js';

export const ROUTE_CHANNEL = 'mon:http:route';

export function watchRouteChannel(routes: FrameworkRoutes): () => void {
  const published = new WeakMap<IncomingMessage, string>();
  const lookup = (request: IncomingMessage, status: number): string | undefined => (status === 404 ? undefined : published.get(request));
  let looking = false;
  const onRoute = (message: unknown): void => {
    // Runs inside the app's publish(): Node would rethrow a throw here as an uncaught exception.
    try {
      const { request, route } = message as { request?: unknown; route?: unknown };
      if (typeof route !== 'string' || typeof request !== 'object' || request === null) return;
      published.set(request as IncomingMessage, route);
      if (!looking) {
        looking = true;
        routes.addLookup(lookup);
      }
    } catch {
      // Not an object: nothing to record.
    }
  };
  subscribe(ROUTE_CHANNEL, onRoute);
  return () => unsubscribe(ROUTE_CHANNEL, onRoute);
}
