// Registers mon's MeterProvider as the global one through the app's own @opentelemetry/api.
//
// Why not mon's bundled copy: the API keeps one global per major version, stamped with the version
// of the copy that registered it, and hands it only to callers whose minor version is not newer
// (api semver.ts). Registered by mon's api 1.9, an app on api 1.10 got the no-op meter: its custom
// metrics vanished without a word. Registered by the app's own copy, every copy of 1.x up to the
// app's sees it, and the app's own later registrations (diag, tracer provider) are not refused as
// "All API registration versions must match".
//
// What is done with the app's API once found (loading both its halves, stepping aside) is in
// app-api-found.ts, loaded only then: most processes have none, and every byte of the preload is
// parsed in each of them (test/bench/RESULTS.md, "Start-up instructions").
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { MeterProvider } from '@opentelemetry/api';
import type { MetricsApi } from './app-api-found.js';
import { debug } from './warn.js';

/**
 * The version of the @opentelemetry/api mon bundles (its SDK's), the one a registration of mon's
 * own stamps on the global (test/app-api.test.ts checks it against the bundled API).
 */
export const BUNDLED_API_VERSION = '1.9.1';

const API = '@opentelemetry/api';

// Parenthesized functions: compiled with the preload, which runs them in every process (first-need.ts).
/**
 * Makes `provider` the global MeterProvider, through the @opentelemetry/api the app itself resolves
 * (from its main script, else the working directory), or mon's own copy when the app has none.
 *
 * An app that builds its own MeterProvider and registers it later wins: its
 * `metrics.setGlobalMeterProvider(its own)` would be refused as a duplicate and its instruments would
 * silently go to mon instead of its own readers. The app's explicit choice is kept, once: mon's
 * registration steps aside; mon's own HTTP and host metrics, which hold mon's provider directly,
 * carry on, and meters the app took before that stay on mon's endpoint.
 */
export const registerGlobalMeterProvider = (async function registerGlobalMeterProvider(provider: MeterProvider, mainScript: string | undefined): Promise<'app' | 'bundled'> {
  const { apis: appApis, found } = await appMetricsApis(mainScript);
  if (found === undefined || appApis.length === 0 || !appApis[0]!.setGlobalMeterProvider(provider)) {
    registerAsBundledApi(provider);
    return 'bundled';
  }
  found.stepAsideForTheApp(appApis, provider);
  return 'app';
});

/**
 * What `metrics.setGlobalMeterProvider(provider)` of mon's bundled API does (its global-utils.js
 * registerGlobal, api 1.x), without loading the API: every process under the preload registers,
 * and most never touch the API. Refused, as the API refuses, when a provider is already
 * registered or the global was made by another version.
 */
export const registerAsBundledApi = (function registerAsBundledApi(provider: MeterProvider): boolean {
  const key = Symbol.for(`opentelemetry.js.api.${BUNDLED_API_VERSION.split('.')[0]}`);
  const global = globalThis as typeof globalThis & { [key: symbol]: { version?: unknown; metrics?: unknown } | undefined };
  const api = (global[key] ??= { version: BUNDLED_API_VERSION });
  if (api.metrics || api.version !== BUNDLED_API_VERSION) {
    debug('the global OpenTelemetry API (%s) already has a MeterProvider or another version; mon registers none', api.version);
    return false;
  }
  api.metrics = provider;
  return true;
});

/**
 * The app's API as its CommonJS code gets it and, for a dual package (api >= 1.10 ships
 * dist/index.cjs and dist/index.mjs, two module instances with a `metrics` object each), as its ESM
 * code gets it. Empty when the app has no @opentelemetry/api (the usual case) or one before 1.3.
 */
const appMetricsApis = (async function appMetricsApis(mainScript: string | undefined): Promise<{ apis: MetricsApi[]; found?: Found }> {
  const from = resolveFrom(mainScript);
  try {
    const require = createRequire(from);
    if (!mayResolve(require, from)) {
      debug("no @opentelemetry/api resolvable from %s (no folder named @opentelemetry where it looks); registering with mon's own", from);
      return { apis: [] };
    }
    const cjsEntry = require.resolve(API);
    const found = await import('./app-api-found.js');
    return { apis: await found.metricsApisAt(require, cjsEntry), found };
  } catch (error) {
    debug("no @opentelemetry/api resolvable from %s (%s); registering with mon's own", from, (error as Error).message);
  }
  return { apis: [] };
});

type Found = typeof import('./app-api-found.js');

/**
 * False only when `require.resolve('@opentelemetry/api')` from `from` must fail: no folder it looks
 * in (`require.resolve.paths`: each node_modules up the tree, NODE_PATH, the global folders) holds
 * an `@opentelemetry` folder, where every file it could resolve to lies; the package `from` belongs
 * to cannot be the API itself (Node resolves a package's own name); and Node's resolver is its own
 * (no CommonJS module has loaded before the preload: Yarn PnP and the like replace it from a
 * `--require`d file). Why: most processes have no API, and there the failing require.resolve
 * (compiling Node's CommonJS resolver, building the error it throws) cost 1.4-1.7 M instructions
 * more than these stats on Node 24 and 26, as much on 22 (test/bench/RESULTS.md, "Start-up
 * instructions").
 */
export const mayResolve = (function mayResolve(require: NodeJS.Require, from: string): boolean {
  if (process.versions.pnp !== undefined || Object.keys(require.cache).length > 0) return true;
  // Joined by hand: path.join, called this often, costs more than the stats themselves (Node 22-26).
  for (const folder of require.resolve.paths(API) ?? []) {
    if (existsSync(folder + path.sep + '@opentelemetry')) return true;
  }
  return mayBeTheApi(from);
});

/**
 * Whether the package.json nearest to `from` could name the API: it spells `opentelemetry`, or has
 * a backslash (a JSON escape could spell the name without the word).
 */
const mayBeTheApi = (function mayBeTheApi(from: string): boolean {
  for (let dir = path.dirname(from); ; ) {
    const file = dir + path.sep + 'package.json';
    if (existsSync(file)) {
      try {
        const text = readFileSync(file, 'utf8');
        return text.includes('opentelemetry') || text.includes('\\');
      } catch {
        return true;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
});

const resolveFrom = (function resolveFrom(mainScript: string | undefined): string {
  // The main script's real path: Node resolves the app's packages from there, symlinks followed.
  try {
    if (mainScript) return realpathSync(mainScript);
  } catch {
    // `node -e`, a script that is gone: the working directory, as Node itself would.
  }
  return path.join(process.cwd(), '[eval]');
});
