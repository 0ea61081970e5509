// Registers mon's MeterProvider as the global one through the app's own @opentelemetry/api.
//
// Why not mon's bundled copy: the API keeps one global per major version, stamped with the version
// of the copy that registered it, and hands it only to callers whose minor version is not newer
// (api semver.ts). Registered by mon's api 1.9, an app on api 1.10 got the no-op meter: its custom
// metrics vanished without a word. Registered by the app's own copy, every copy of 1.x up to the
// app's sees it, and the app's own later registrations (diag, tracer provider) are not refused as
// "All API registration versions must match".
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MeterProvider } from '@opentelemetry/api';
import { debug } from './warn.js';

/**
 * The version of the @opentelemetry/api mon bundles (its SDK's), the one a registration of mon's
 * own stamps on the global (test/app-api.test.ts checks it against the bundled API).
 */
export const BUNDLED_API_VERSION = '1.9.1';

/** What mon needs of any @opentelemetry/api 1.x (`metrics` exists from 1.3). */
interface MetricsApi {
  setGlobalMeterProvider(provider: MeterProvider): boolean;
  disable(): void;
}

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
export async function registerGlobalMeterProvider(provider: MeterProvider, mainScript: string | undefined): Promise<'app' | 'bundled'> {
  const appApis = await appMetricsApis(mainScript);
  if (appApis.length === 0 || !appApis[0]!.setGlobalMeterProvider(provider)) {
    registerAsBundledApi(provider);
    return 'bundled';
  }
  stepAsideForTheApp(appApis, provider);
  return 'app';
}

/**
 * What `metrics.setGlobalMeterProvider(provider)` of mon's bundled API does (its global-utils.js
 * registerGlobal, api 1.x), without loading the API: every process under the preload registers,
 * and most never touch the API. Refused, as the API refuses, when a provider is already
 * registered or the global was made by another version.
 */
export function registerAsBundledApi(provider: MeterProvider): boolean {
  const key = Symbol.for(`opentelemetry.js.api.${BUNDLED_API_VERSION.split('.')[0]}`);
  const global = globalThis as typeof globalThis & { [key: symbol]: { version?: unknown; metrics?: unknown } | undefined };
  const api = (global[key] ??= { version: BUNDLED_API_VERSION });
  if (api.metrics || api.version !== BUNDLED_API_VERSION) {
    debug('the global OpenTelemetry API (%s) already has a MeterProvider or another version; mon registers none', api.version);
    return false;
  }
  api.metrics = provider;
  return true;
}

/**
 * The app's API as its CommonJS code gets it and, for a dual package (api >= 1.10 ships
 * dist/index.cjs and dist/index.mjs, two module instances with a `metrics` object each), as its ESM
 * code gets it. Empty when the app has no @opentelemetry/api (the usual case) or one before 1.3.
 */
async function appMetricsApis(mainScript: string | undefined): Promise<MetricsApi[]> {
  const from = resolveFrom(mainScript);
  try {
    const require = createRequire(from);
    const cjsEntry = require.resolve('@opentelemetry/api');
    const apis = [metricsOf(require(cjsEntry))];
    const esmEntry = esmEntryOf(cjsEntry);
    if (esmEntry !== undefined && esmEntry !== cjsEntry) apis.push(metricsOf(await import(pathToFileURL(esmEntry).href)));
    if (apis.every((api): api is MetricsApi => api !== undefined)) return apis;
    debug("the app's @opentelemetry/api has no metrics API (before 1.3); registering with mon's own");
  } catch (error) {
    debug("no @opentelemetry/api resolvable from %s (%s); registering with mon's own", from, (error as Error).message);
  }
  return [];
}

function resolveFrom(mainScript: string | undefined): string {
  // The main script's real path: Node resolves the app's packages from there, symlinks followed.
  try {
    if (mainScript) return realpathSync(mainScript);
  } catch {
    // `node -e`, a script that is gone: the working directory, as Node itself would.
  }
  return path.join(process.cwd(), '[eval]');
}

function metricsOf(api: { metrics?: Partial<MetricsApi> }): MetricsApi | undefined {
  const metrics = api.metrics;
  return typeof metrics?.setGlobalMeterProvider === 'function' && typeof metrics.disable === 'function'
    ? (metrics as MetricsApi)
    : undefined;
}

/** The file an `import` of the package resolves to (its `exports['.']` under Node's ESM conditions). */
function esmEntryOf(cjsEntry: string): string | undefined {
  for (let dir = path.dirname(cjsEntry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    let pkg: { name?: string; exports?: unknown };
    try {
      pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (pkg.name !== '@opentelemetry/api') continue;
    const exports = pkg.exports as Record<string, unknown> | undefined;
    const target = pick(exports?.['.'] ?? exports);
    return target === undefined ? undefined : path.join(dir, target);
  }
  return undefined;
}

const ESM_CONDITIONS = new Set(['node', 'import', 'module-sync', 'default']);

function pick(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (target === null || typeof target !== 'object' || Array.isArray(target)) return undefined;
  // Object key order is the package's order of preference, as in Node's resolver.
  for (const [condition, value] of Object.entries(target)) {
    if (!ESM_CONDITIONS.has(condition)) continue;
    const found = pick(value);
    if (found !== undefined) return found;
  }
  return undefined;
}

function stepAsideForTheApp(appApis: MetricsApi[], ours: MeterProvider): void {
  // An own property on each of the app's API objects, undone at the first call of any: the original
  // methods are back before the app's call returns, and nothing else of the app's API is touched.
  const restores = appApis.map((api) => {
    const register = api.setGlobalMeterProvider;
    const wasOwn = Object.prototype.hasOwnProperty.call(api, 'setGlobalMeterProvider');
    api.setGlobalMeterProvider = function setGlobalMeterProvider(provider: MeterProvider): boolean {
      for (const restore of restores) restore();
      if (provider !== ours) {
        debug("the app registers its own MeterProvider: mon's steps aside as the global one");
        api.disable();
      }
      return register.call(api, provider);
    };
    return () => {
      if (wasOwn) api.setGlobalMeterProvider = register;
      else delete (api as Partial<MetricsApi>).setGlobalMeterProvider;
    };
  });
}
