// What the preload does with the app's own @opentelemetry/api once app-api.ts found one: loads
// its metrics API, both halves of a dual package, and steps aside when the app registers a
// MeterProvider of its own. Loaded only then (app-api.ts says why).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MeterProvider } from '@opentelemetry/api';
import { debug } from './warn.js';

/** What mon needs of any @opentelemetry/api 1.x (`metrics` exists from 1.3). */
export interface MetricsApi {
  setGlobalMeterProvider(provider: MeterProvider): boolean;
  disable(): void;
}

/**
 * The app's API as its CommonJS code gets it (`cjsEntry`, resolved by the app's `require`) and, for
 * a dual package (api >= 1.10 ships dist/index.cjs and dist/index.mjs, two module instances with a
 * `metrics` object each), as its ESM code gets it. Empty for an API before 1.3. Throws what
 * loading it throws.
 */
export async function metricsApisAt(require: NodeJS.Require, cjsEntry: string): Promise<MetricsApi[]> {
  const apis = [metricsOf(require(cjsEntry))];
  const esmEntry = esmEntryOf(cjsEntry);
  if (esmEntry !== undefined && esmEntry !== cjsEntry) apis.push(metricsOf(await import(pathToFileURL(esmEntry).href)));
  if (apis.every((api): api is MetricsApi => api !== undefined)) return apis;
  debug("the app's @opentelemetry/api has no metrics API (before 1.3); registering with mon's own");
  return [];
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

export function stepAsideForTheApp(appApis: MetricsApi[], ours: MeterProvider): void {
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
