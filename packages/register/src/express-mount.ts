// The mount-path template of an Express request: `/orgs/:org` where `req.baseUrl` says
// `/orgs/<whatever the client sent>`. Express keeps a mount path's parameter only as its value (in
// baseUrl), so a route label built from baseUrl carried client-chosen text: 15 000 characters of it
// per route in an attacker's probe (issue 18). The template is found again by walking the app's own
// routers, the way Express did for the request, from the app down to the router holding `req.route`:
// - each mount layer tells which prefix of the (remaining) baseUrl it matches, and its template:
//   Express 5 (`router` 2) keeps the path as given (`layer.rawPath`); Express 4 keeps only the
//   compiled regexp and the parameter names (`layer.keys`), so the template is the matched text with
//   each captured parameter replaced by `:name`;
// - routers are followed through `layer.handle.stack`; a mounted sub-app (a `mounted_app` layer)
//   through the chain of apps from `req.app` up its `parent`s.
// Only the layers' own matchers run, on the baseUrl Express already matched them against; nothing
// of Express's is changed. Anything else (another router library, a shape this does not know) gives
// undefined and the caller decides.
import type { IncomingMessage } from 'node:http';

interface Layer {
  route?: unknown;
  handle?: { stack?: unknown; name?: unknown };
  /** Express 5 (`router` 2). */
  matchers?: Array<(path: string) => { path: string } | false>;
  rawPath?: unknown;
  slash?: boolean;
  /** Express 4. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys?: Array<{ name: string | number }>;
}

interface ExpressApp {
  parent?: unknown;
  _router?: { stack?: unknown };
  router?: { stack?: unknown };
}

/** Routers nested deeper than this are not followed (an app that mounts a router in itself). */
const MAX_DEPTH = 16;

/**
 * The template of `baseUrl` for a request answered by `route`, e.g. `/orgs/:org/teams`, or
 * undefined when the app's routers do not explain it.
 */
export function mountTemplate(request: IncomingMessage, baseUrl: string, route: object, caseSensitive: boolean): string | undefined {
  const apps: ExpressApp[] = [];
  // Express apps and routers are functions with properties.
  for (let app = (request as { app?: unknown }).app; isObjectLike(app) && apps.length < MAX_DEPTH; app = (app as ExpressApp).parent) {
    apps.unshift(app as ExpressApp);
  }
  if (apps.length === 0) return undefined;
  return resolve(stackOf(apps[0]!), baseUrl, { route, apps, caseSensitive }, 0, 0);
}

interface Walk {
  route: object;
  /** The root app first, then each mounted sub-app down to `req.app`. */
  apps: ExpressApp[];
  caseSensitive: boolean;
}

function resolve(stack: Layer[] | undefined, path: string, walk: Walk, appIndex: number, depth: number): string | undefined {
  if (stack === undefined || depth > MAX_DEPTH) return undefined;
  for (const layer of stack) {
    if (!isObjectLike(layer)) continue;
    if (layer.route !== undefined) {
      if (path === '' && layer.route === walk.route) return '';
      continue;
    }
    let child: Layer[] | undefined;
    let childApp = appIndex;
    if (Array.isArray(layer.handle?.stack)) child = layer.handle.stack as Layer[];
    else if (layer.handle?.name === 'mounted_app' && appIndex + 1 < walk.apps.length) {
      childApp = appIndex + 1;
      child = stackOf(walk.apps[childApp]!);
    } else continue;
    const mount = matchMount(layer, path, walk.caseSensitive);
    if (mount === undefined) continue;
    const rest = resolve(child, path.slice(mount.length), walk, childApp, depth + 1);
    if (rest !== undefined) return mount.template + rest;
  }
  return undefined;
}

function stackOf(app: ExpressApp): Layer[] | undefined {
  // Express 4 keeps its router in `_router`; Express 5 behind the `router` getter.
  const stack = app._router?.stack ?? app.router?.stack;
  return Array.isArray(stack) ? (stack as Layer[]) : undefined;
}

/** The prefix of `path` a mount layer matches (without a trailing '/'), and its template. */
function matchMount(layer: Layer, path: string, caseSensitive: boolean): { length: number; template: string } | undefined {
  if (Array.isArray(layer.matchers)) {
    if (layer.slash === true) return { length: 0, template: '' };
    for (let i = 0; i < layer.matchers.length; i++) {
      const match = layer.matchers[i]!(path);
      if (match === false) continue;
      const raw = Array.isArray(layer.rawPath) ? layer.rawPath[i] : layer.rawPath;
      return { length: withoutTrailingSlash(match.path).length, template: withoutTrailingSlash(typeof raw === 'string' ? raw : String(raw)) };
    }
    return undefined;
  }
  const regexp = layer.regexp;
  if (!(regexp instanceof RegExp) || regexp.fast_star === true) return undefined;
  if (regexp.fast_slash === true) return { length: 0, template: '' };
  const match = withIndices(regexp).exec(path);
  if (match === null) return undefined;
  const matched = withoutTrailingSlash(match[0]);
  // The matched text, each captured parameter replaced by its name; the literal text lower-cased
  // as Express matched it (case-insensitively) unless the app asked otherwise.
  let template = '';
  let at = 0;
  const literal = (text: string): string => (caseSensitive ? text : text.toLowerCase());
  for (let g = 1; g < match.length; g++) {
    const span = match.indices?.[g];
    if (span === undefined || span[0] < at || span[1] > matched.length) continue;
    template += `${literal(matched.slice(at, span[0]))}:${String(layer.keys?.[g - 1]?.name ?? g - 1)}`;
    at = span[1];
  }
  return { length: matched.length, template: template + literal(matched.slice(at)) };
}

// Express 4's layer regexps, recompiled once with the `d` flag for the capture positions.
const indexed = new WeakMap<RegExp, RegExp>();
function withIndices(regexp: RegExp): RegExp {
  let copy = indexed.get(regexp);
  if (copy === undefined) indexed.set(regexp, (copy = new RegExp(regexp.source, `${regexp.flags.replace('g', '').replace('y', '')}d`)));
  return copy;
}

function withoutTrailingSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

function isObjectLike(value: unknown): value is Layer {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
