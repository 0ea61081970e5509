// The mount-path template of an Express request: `/orgs/:org` where `req.baseUrl` says
// `/orgs/<whatever the client sent>`. Express keeps a mount path's parameter only as its value (in
// baseUrl), so a route label built from baseUrl carried client-chosen text: 15 000 characters of it
// per route in an attacker's probe (issue 18). The template is found again by walking the app's own
// routers, the way Express did for the request, from the app down to the router holding `req.route`:
// - each mount layer tells which prefix of the (remaining) baseUrl it matches, and its template:
//   Express 5 (`router` 2) keeps the path as given (`layer.rawPath`); Express 4 keeps only the
//   compiled regexp and the parameter names (`layer.keys`), so the template is the matched text with
//   each captured parameter replaced by `:name`, kept only once Express's own Layer compiles it back
//   to the very same regexp (a quantifier in the pattern, `/ab+c`, would otherwise let the matched
//   text through); a regular-expression mount is its pattern (`String(regexp)`, as Express 5 keeps
//   it), never the text it matched;
// - routers are followed through `layer.handle.stack`; a mounted sub-app (a `mounted_app` layer)
//   through the chain of apps from `req.app` up its `parent`s;
// - a router the app calls from a function of its own (`app.use('/w/:org', (req, res, next) =>
//   router(req, res, next))`) is out of reach: only when no router explains the path, a function's
//   mount layer that matches all that is left of it explains it (the router inside it was handed
//   exactly that baseUrl). A path only partly explained gives no template at all.
// Only the layers' own matchers run, on the baseUrl Express already matched them against; nothing
// of Express's is changed. Anything else (another router library, a shape this does not know) gives
// undefined: the caller then reports no route, never the baseUrl the client sent (issue 24).
interface Layer {
  route?: unknown;
  handle?: { stack?: unknown; name?: unknown };
  /** Express 5 (`router` 2). */
  matchers?: Array<(path: string) => { path: string } | false>;
  rawPath?: unknown;
  slash?: boolean;
  /** Express 4. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys?: Array<{ name: string | number; optional?: boolean }>;
}

interface ExpressApp {
  parent?: unknown;
  _router?: { stack?: unknown };
  router?: { stack?: unknown };
}

/** Routers nested deeper than this are not followed (an app that mounts a router in itself). */
const MAX_DEPTH = 16;

// The mount layers that led to each route the last time: a router is nearly always mounted once,
// so later requests (another org) only run those few matchers, not a walk of the whole app.
const chains = new WeakMap<object, Layer[]>();

/**
 * The template of `baseUrl` for a request answered by `route`, e.g. `/orgs/:org/teams`, or
 * undefined when the app's routers do not explain it. `app` is `req.app` when the route matched:
 * the sub-app holding it, whose `parent`s lead to the root.
 */
export function mountTemplate(app: unknown, baseUrl: string, route: object, caseSensitive: boolean): string | undefined {
  const known = chains.get(route);
  if (known !== undefined) {
    const template = along(known, baseUrl, caseSensitive);
    if (template !== undefined) return template;
  }
  const apps: ExpressApp[] = [];
  // Express apps and routers are functions with properties.
  for (let at = app; isObjectLike(at) && apps.length < MAX_DEPTH; at = (at as ExpressApp).parent) {
    apps.unshift(at as ExpressApp);
  }
  if (apps.length === 0) return undefined;
  const walk: Walk = { route, apps, caseSensitive, chain: [], throughFunctions: false };
  let template = resolve(stackOf(apps[0]!), baseUrl, walk, 0, 0);
  if (template === undefined) {
    walk.throughFunctions = true;
    template = resolve(stackOf(apps[0]!), baseUrl, walk, 0, 0);
  }
  if (template !== undefined) chains.set(route, walk.chain.reverse());
  return template;
}

/** The template of `path` through `chain`'s layers in turn, if they match all of it. */
function along(chain: Layer[], path: string, caseSensitive: boolean): string | undefined {
  let template = '';
  let rest = path;
  for (const layer of chain) {
    const mount = matchMount(layer, rest, caseSensitive);
    if (mount === undefined) return undefined;
    template += mount.template;
    rest = rest.slice(mount.length);
  }
  return rest === '' ? template : undefined;
}

interface Walk {
  route: object;
  /** The root app first, then each mounted sub-app down to `req.app`. */
  apps: ExpressApp[];
  caseSensitive: boolean;
  /** Filled on the way back out of a successful walk: the mount layers, innermost first. */
  chain: Layer[];
  /** Second pass: a function's mount layer may explain the rest of the path (see the top). */
  throughFunctions: boolean;
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
    else if (layer.handle?.name === 'mounted_app') {
      if (appIndex + 1 >= walk.apps.length) continue;
      childApp = appIndex + 1;
      child = stackOf(walk.apps[childApp]!);
    } else if (!walk.throughFunctions || typeof layer.handle !== 'function') continue;
    const mount = matchMount(layer, path, walk.caseSensitive);
    if (mount === undefined) continue;
    if (child === undefined && childApp === appIndex) {
      // A function of the app's: it explains the path only if its match is all that is left.
      if (mount.length !== path.length) continue;
      walk.chain.push(layer);
      return mount.template;
    }
    const rest = resolve(child, path.slice(mount.length), walk, childApp, depth + 1);
    if (rest !== undefined) {
      walk.chain.push(layer);
      return mount.template + rest;
    }
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
      const length = withoutTrailingSlash(match.path).length;
      if (raw instanceof RegExp) return { length, template: String(raw) };
      return typeof raw === 'string' ? { length, template: withoutTrailingSlash(raw) } : undefined;
    }
    return undefined;
  }
  const regexp = layer.regexp;
  if (!(regexp instanceof RegExp) || regexp.fast_star === true) return undefined;
  if (regexp.fast_slash === true) return { length: 0, template: '' };
  // The layer's own regexp first: the `d` copy, slower, only runs on a match.
  if (!regexp.test(path)) return undefined;
  const match = withIndices(regexp).exec(path);
  if (match === null) return undefined;
  const matched = withoutTrailingSlash(match[0]);
  // A mount written as a string compiles (path-to-regexp 0.1) to a regexp that ends in this
  // lookahead; any other is the app's own regexp, and stands for itself.
  if (!regexp.source.endsWith(STRING_MOUNT_END)) return { length: matched.length, template: String(regexp) };
  // The matched text, each captured parameter replaced by its name; the literal text lower-cased
  // as Express matched it (case-insensitively) unless the app asked otherwise.
  let template = '';
  let at = 0;
  const literal = (text: string): string => (caseSensitive ? text : text.toLowerCase());
  for (let g = 1; g < match.length; g++) {
    const key = layer.keys?.[g - 1];
    const span = match.indices?.[g];
    // An optional parameter absent from this path: written where Express 4 allows it, after a '/'.
    if (span === undefined) {
      if (key?.optional === true) template += `/:${String(key.name)}?`;
      continue;
    }
    if (span[0] < at || span[1] > matched.length) return undefined;
    const name = typeof key?.name === 'string' ? `:${key.name}${key.optional === true ? '?' : ''}` : '*';
    template += `${literal(matched.slice(at, span[0]))}${name}`;
    at = span[1];
  }
  template += literal(matched.slice(at));
  return compilesBack(layer, template) ? { length: matched.length, template } : undefined;
}

const STRING_MOUNT_END = '(?=\\/|$)';

/** Templates checked per Express 4 layer; past this many, a new one is refused unchecked. */
const MAX_CHECKED = 8;
const checked = new WeakMap<Layer, Map<string, boolean>>();

/**
 * Whether Express's own Layer (the app's copy of path-to-regexp) compiles `template` to `layer`'s
 * regexp: then the template is the path the app wrote (up to letter case), whatever the client sent.
 * Once per layer and template; a layer offering more templates than real patterns do (a quantifier
 * matched by ever-different text) is refused past MAX_CHECKED without compiling.
 */
function compilesBack(layer: Layer, template: string): boolean {
  let results = checked.get(layer);
  if (results === undefined) checked.set(layer, (results = new Map()));
  const known = results.get(template);
  if (known !== undefined) return known;
  if (results.size >= MAX_CHECKED) return false;
  const regexp = layer.regexp!;
  const sensitive = !regexp.flags.includes('i');
  const same = (source: string): boolean => (sensitive ? source === regexp.source : source.toLowerCase() === regexp.source.toLowerCase());
  let ok = false;
  // A throwaway Layer: nothing of the app's changes (with DEBUG=express:*, Express logs it once).
  try {
    const Compile = (layer as { constructor?: unknown }).constructor as new (path: string, options: object, fn: () => void) => Layer;
    // `strict` is the router's option, not on the layer: the two compile differently, try both.
    for (const strict of [false, true]) {
      const built = new Compile(template, { sensitive, strict, end: false }, noop).regexp;
      if (built instanceof RegExp && same(built.source)) ok = true;
    }
  } catch {
    // Not Express 4's Layer after all: nothing explains the path.
  }
  results.set(template, ok);
  return ok;
}

function noop(): void {}

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
