// h3 v2 (and Nitro v3, built on it): with h3's tracing plugin registered (`app.register(
// tracingPlugin())` from 'h3/tracing', which Nitro does when its tracing is on), every route
// handler runs inside the `h3.request` tracing channel with `{ event, type: 'route' }`. The event
// carries the matched route (`event.context.matchedRoute.route`, the template) and, under Node,
// the raw request (`event.runtime.node.req`). Without the plugin h3 publishes nothing: no route.
import { subscribe, unsubscribe } from '../channels.js';
import type { IncomingMessage } from 'node:http';
import type { FrameworkRoutes } from './framework-routes.js';

const CHANNEL = 'tracing:h3.request:start';

interface H3RequestTrace {
  type?: unknown;
  event?: {
    context?: { matchedRoute?: { route?: unknown } };
    runtime?: { node?: { req?: unknown } };
  };
}

export function watchH3(routes: FrameworkRoutes): () => void {
  const onStart = (message: unknown): void => {
    // Runs inside h3's request handling: Node would rethrow a throw here as an uncaught exception.
    try {
      const { type, event } = message as H3RequestTrace;
      if (type !== 'route') return;
      const route = event?.context?.matchedRoute?.route;
      const req = event?.runtime?.node?.req;
      if (typeof route === 'string' && typeof req === 'object' && req !== null) routes.record(req as IncomingMessage, route);
    } catch {
      // An event of another shape: no route for this request.
    }
  };
  subscribe(CHANNEL, onStart);
  return () => unsubscribe(CHANNEL, onStart);
}
