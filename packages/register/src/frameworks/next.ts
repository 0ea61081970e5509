// Next.js (`next start`, pages router, app router, route handlers; also a custom server): Next
// keeps its request metadata on the raw request under `Symbol.for('NextInternalRequestMeta')`.
// Its `match.definition.pathname` is the route as Next writes it (`/users/[id]`,
// `/api/items/[id]`). When a page fails, Next renders its error page and the match becomes
// `/_error`; `invokeOutput` (the route file the router matched) still names the failed route.
// Next's own pages (not-found, error) are no route, nor are static files (no match at all).
// Read once, at the end of the response; every level type-checked, since this is Next's
// internal shape: a Next version that changes it gives no route, never a wrong one.
import type { IncomingMessage } from 'node:http';

const NEXT_REQUEST_META = Symbol.for('NextInternalRequestMeta');

/** Pages Next renders for its own purposes: a request answered by them matched no route. */
const NEXT_INTERNAL = new Set(['/_error', '/_not-found', '/_global-error', '/404', '/500', '/_app', '/_document']);

interface NextRequestMeta {
  match?: { definition?: { pathname?: unknown } };
  invokeOutput?: unknown;
}

const asRoute = (value: unknown): string | undefined =>
  typeof value === 'string' && value.charCodeAt(0) === 47 /* '/' */ && !NEXT_INTERNAL.has(value) ? value : undefined;

export function nextRoute(request: IncomingMessage): string | undefined {
  const meta = (request as unknown as Record<symbol, unknown>)[NEXT_REQUEST_META];
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { match, invokeOutput } = meta as NextRequestMeta;
  const definition = typeof match === 'object' && match !== null ? match.definition : undefined;
  const pathname = typeof definition === 'object' && definition !== null ? definition.pathname : undefined;
  return asRoute(pathname) ?? asRoute(invokeOutput);
}
