// http.route: the route template a request matched, never its raw path. Read from what the
// frameworks publish, after the response is done:
// - Express 4 and 5: `req.route.path` (the matched route's pattern) under the mount path of nested
//   routers and sub-apps as it was when the route matched (frameworks/express.ts).
// - Fastify, Koa, hapi, h3 and Next.js: frameworks/index.ts says where each template comes from.
// - Anything else: no route at all (as the semantic conventions say), unless the user opts in with
//   MON_ROUTE_PATTERNS or MON_NORMALIZE_PATHS.
// Whatever the source, at most `maxRoutes` distinct routes exist; beyond that every new one is
// `_OTHER`, so no path scanner or id-in-the-path can grow the series without bound.
import type { IncomingMessage } from 'node:http';
import { MON_TOO_MANY_ROUTES, MON_ROUTE_TOO_LONG } from '@mon/warnings';
import { mountTemplate } from './express-mount.js';
import { captureExpressMountPaths, isCatchAllNotFound } from './frameworks/express.js';
import { FrameworkRoutes } from './frameworks/framework-routes.js';
import { watchFrameworks } from './frameworks/index.js';
import { compileGlob, compileRouteTemplate, isPrefixGlob, type PathPattern } from './path-pattern.js';
import { warn } from './warn.js';

export const OTHER_ROUTE = '_OTHER';
/**
 * The longest route label, in characters; a longer route is `_OTHER` (never a truncated value,
 * which could still carry what a client put in the path). Real templates are far shorter.
 */
export const MAX_ROUTE_LENGTH = 128;

export interface RouteOptions {
  /** Templates such as `/users/:id` (`*` matches the rest) for servers without a router. */
  patterns?: string[] | undefined;
  /** Numeric, UUID and long hex path segments become `:id`. */
  normalize?: boolean | undefined;
  maxRoutes: number;
}

interface ExpressRequest extends IncomingMessage {
  route?: unknown;
  baseUrl?: unknown;
  app?: unknown;
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[0-9A-Za-z_-]{32,})$/i;

export function normalizePath(path: string): string {
  return path
    .split('/')
    .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
    .join('/');
}

export interface RouteResolver {
  /**
   * The route of a finished request; `status` keeps 404s from minting routes out of raw paths.
   * `url`: the path when `request` has none of its own (an HTTP/2 stream: its `:path`).
   */
  routeOf: (request: IncomingMessage, status: number, url?: string) => string | undefined;
  /** Stops listening for new framework instances. */
  stop: () => void;
  /** Whether routes may come from the raw path (MON_ROUTE_PATTERNS, MON_NORMALIZE_PATHS). */
  readonly usesPath: boolean;
}

/** Resolves http.route for http-server.ts, and subscribes to what frameworks publish. */
export function createRouteResolver(options: RouteOptions): RouteResolver {
  const known = new Set<string>();
  let capped = false;
  /** The route last found known: a steady stream of one route skips the Set's string hashing. */
  let lastKnown: string | undefined;
  /** Bounded: at most maxRoutes distinct strings ever leave this function (plus _OTHER). */
  const bound = (route: string): string => {
    if (route === lastKnown) return route;
    if (known.has(route)) {
      lastKnown = route;
      return route;
    }
    if (route.length > MAX_ROUTE_LENGTH) {
      warn(MON_ROUTE_TOO_LONG, `a route longer than ${MAX_ROUTE_LENGTH} characters is counted as http.route="${OTHER_ROUTE}".`);
      return OTHER_ROUTE;
    }
    if (capped || known.size >= options.maxRoutes) {
      // The flag keeps the warning's string building off every later request.
      if (!capped) {
        capped = true;
        warn(
          MON_TOO_MANY_ROUTES,
          `more than ${options.maxRoutes} distinct routes; further ones are counted as http.route="${OTHER_ROUTE}". Raise MON_MAX_ROUTES if the app really has that many.`,
        );
      }
      return OTHER_ROUTE;
    }
    known.add(route);
    return route;
  };

  // Fastify, Koa, hapi, h3, Next.js: frameworks/*.ts, each active only once its framework shows up.
  const frameworks = new FrameworkRoutes();
  const stopFrameworks = watchFrameworks(frameworks);

  // Express: `baseUrl` holds the mount path as matched, so a parameter in a mount path
  // (`app.use('/orgs/:org', router)`) arrives as its value: express-mount.ts finds the template
  // again from the app's routers. Should it not (a router shape it does not know, a router called
  // from inside a function), there is no route: the baseUrl is what the client sent (issue 24).
  // With Express's default case-insensitive routing `/API` and `/api` arrive as typed (lower-cased,
  // unless the app turned case sensitivity on).
  // Cache per (route object, baseUrl) so a steady request stream builds no strings (null: no
  // route); the cache is bounded like the routes, and long baseUrls (an attacker's) are not kept.
  const expressCache = new WeakMap<object, Map<string, string | null>>();
  const express = captureExpressMountPaths();
  const expressRoute = (request: ExpressRequest, route: object): string | undefined => {
    let baseUrl = express.matchedBaseUrl(request);
    if (baseUrl === undefined) {
      // The match was not seen (Express's prototype not found before this request): the mount
      // path as it is now, and the prototype is looked for so the next requests are seen.
      express.learnFrom(request);
      baseUrl = typeof request.baseUrl === 'string' ? request.baseUrl : '';
    }
    let byBase = expressCache.get(route);
    if (byBase === undefined) expressCache.set(route, (byBase = new Map()));
    let full = byBase.get(baseUrl);
    if (full === undefined) {
      const raw = (route as { path?: unknown }).path;
      const path = typeof raw === 'string' ? raw : String(raw);
      const caseSensitive = (request as { app?: { get?: (key: string) => unknown } }).app?.get?.('case sensitive routing') === true;
      const base = baseUrl === '' ? '' : mountTemplate(express.matchedSubApp(request) ?? request.app, baseUrl, route, caseSensitive);
      full = base === undefined ? null : bound(base === '' ? path : base + (path === '/' ? '' : path));
      if (byBase.size < options.maxRoutes && baseUrl.length <= MAX_ROUTE_LENGTH) byBase.set(baseUrl, full);
    }
    return full ?? undefined;
  };

  // Templates were checked by config.ts (routeTemplateProblem); path-pattern.ts says why no regex.
  const patterns = options.patterns?.map((template) => ({ template, pattern: compileRouteTemplate(template) }));
  const fromPath = (url: string, status: number): string | undefined => {
    const q = url.indexOf('?');
    const end = q === -1 ? url.length : q;
    if (patterns) for (const { template, pattern } of patterns) if (pattern.matches(url, end)) return bound(template);
    const path = q === -1 ? url : url.slice(0, q);
    // A 404 is a path the app does not have: a scanner must not fill the route budget with them.
    if (options.normalize && status !== 404) return bound(normalizePath(path));
    return undefined;
  };
  const optedIn = patterns !== undefined || options.normalize === true;

  return {
    routeOf: (request, status, url) => {
      const route = (request as ExpressRequest).route;
      // Only Express's Route objects: an app may put anything in req.route.
      if (typeof route === 'object' && route !== null) {
        return isCatchAllNotFound(route, status) ? undefined : expressRoute(request as ExpressRequest, route);
      }
      const template = frameworks.routeOf(request, status);
      if (template !== undefined) return bound(template);
      return optedIn ? fromPath(url ?? request.url ?? '/', status) : undefined;
    },
    stop: () => {
      stopFrameworks();
      express.stop();
    },
    usesPath: optedIn,
  };
}

/**
 * MON_IGNORE_PATHS entries: exact (`/health`), prefix (`/health*`) or glob (`/static/**\/*.map`,
 * `/users/*\/avatar`; see path-pattern.ts). Returns a predicate on the raw request URL, query string
 * ignored.
 */
export function createPathFilter(entries: string[]): (url: string | undefined) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const globs: PathPattern[] = [];
  for (const entry of entries) {
    if (!entry.includes('*')) exact.add(entry);
    else if (isPrefixGlob(entry)) prefixes.push(entry.slice(0, entry.indexOf('*')));
    else globs.push(compileGlob(entry));
  }
  return (url) => {
    if (url === undefined) return false;
    const q = url.indexOf('?');
    const end = q === -1 ? url.length : q;
    if (exact.size > 0 && exact.has(q === -1 ? url : url.slice(0, q))) return true;
    for (const prefix of prefixes) if (url.startsWith(prefix) && prefix.length <= end) return true;
    for (const glob of globs) if (glob.matches(url, end)) return true;
    return false;
  };
}
