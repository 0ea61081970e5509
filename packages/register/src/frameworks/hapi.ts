// hapi: `request.route.path` is the template (with the plugin's route prefix), a public field of
// hapi's request object. hapi's public 'response' event comes too late for mon (it fires after the
// response's 'close', where mon records the request), so the hapi request is found the way
// koa.ts finds Koa's context: when hapi's core.js requires its Request class (seen through
// module-loads.ts), mon defines a `raw` accessor on Request.prototype; the constructor's
// `this.raw = { req, res }` then records request -> hapi request in a WeakMap and leaves `raw` an
// own, enumerable data property, exactly as the assignment would. No hapi function is replaced.
import type { IncomingMessage } from 'node:http';
import { MON_FRAMEWORK_CHANGED } from '@mon/warnings';
import { warn } from '../warn.js';
import type { FrameworkRoutes } from './framework-routes.js';
import type { ModuleWatch } from './module-loads.js';

interface HapiRequest {
  route?: { path?: unknown; method?: unknown };
}

export function hapiWatch(routes: FrameworkRoutes): ModuleWatch {
  const requests = new WeakMap<IncomingMessage, HapiRequest>();
  const lookup = (request: IncomingMessage): string | undefined => {
    const route = requests.get(request)?.route;
    // Requests no route matched carry hapi's internal not-found route (`/{p*}`, method `_special`).
    if (route === undefined || route.method === '_special') return undefined;
    return typeof route.path === 'string' ? route.path : undefined;
  };
  function setRaw(this: object, value: unknown): void {
    // Runs inside hapi's Request constructor: never throw into it.
    try {
      Object.defineProperty(this, 'raw', { value, writable: true, enumerable: true, configurable: true });
      const req = (value as { req?: unknown } | null)?.req;
      if (typeof req === 'object' && req !== null) requests.set(req as IncomingMessage, this);
    } catch {
      // A frozen request: nothing to record.
    }
  }
  return {
    id: './request',
    parent: '/@hapi/hapi/lib/core.js',
    loaded: (Request) => {
      const prototype = (Request as { prototype?: unknown } | null)?.prototype;
      // The same copy of hapi loaded again (a cleared require cache): already in place.
      if (typeof prototype === 'object' && prototype !== null && Object.getOwnPropertyDescriptor(prototype, 'raw')?.set === setRaw) return;
      if (typeof Request !== 'function' || typeof prototype !== 'object' || prototype === null || Object.getOwnPropertyDescriptor(prototype, 'raw') !== undefined) {
        warn(MON_FRAMEWORK_CHANGED, "this hapi version's Request is not shaped as mon expects; its requests are counted without http.route. Report it with the hapi version.");
        return;
      }
      Object.defineProperty(prototype, 'raw', { set: setRaw, enumerable: false, configurable: true });
      routes.addLookup(lookup);
    },
  };
}
