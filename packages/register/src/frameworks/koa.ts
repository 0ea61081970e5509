// Koa with @koa/router: the router leaves the matched template on the context
// (`ctx._matchedRoute`, with router prefixes), and Koa makes one context per request; nothing
// links the raw request to it. When Koa's application.js requires its context prototype (seen
// through module-loads.ts), mon defines a `req` accessor on that prototype: Koa's createContext
// assigns `context.req = req`, which then records request -> context in a WeakMap and leaves
// `req` an own, enumerable data property of the context, exactly as the assignment would. At the
// end of the response the context's `_matchedRoute` is read. No Koa function is replaced.
import type { IncomingMessage } from 'node:http';
import { MON_FRAMEWORK_CHANGED } from '@mon/warnings';
import { warn } from '../warn.js';
import type { FrameworkRoutes } from './framework-routes.js';
import type { ModuleWatch } from './module-loads.js';

interface KoaContext {
  _matchedRoute?: unknown;
}

export function koaWatch(routes: FrameworkRoutes): ModuleWatch {
  const contexts = new WeakMap<IncomingMessage, KoaContext>();
  const lookup = (request: IncomingMessage): string | undefined => {
    const matched = contexts.get(request)?._matchedRoute;
    if (typeof matched === 'string') return matched;
    // A RegExp route: its source is as bounded as the app's code.
    if (matched instanceof RegExp) return String(matched);
    return undefined;
  };
  function setReq(this: object, value: unknown): void {
    // Runs inside Koa's createContext: never throw into it.
    try {
      Object.defineProperty(this, 'req', { value, writable: true, enumerable: true, configurable: true });
      if (typeof value === 'object' && value !== null) contexts.set(value as IncomingMessage, this);
    } catch {
      // A frozen context: nothing to record.
    }
  }
  return {
    id: './context',
    parent: '/koa/lib/application.js',
    loaded: (context) => {
      // The same copy of Koa loaded again (a cleared require cache): already in place.
      if (typeof context === 'object' && context !== null && Object.getOwnPropertyDescriptor(context, 'req')?.set === setReq) return;
      if (typeof context !== 'object' || context === null || Object.getOwnPropertyDescriptor(context, 'req') !== undefined || !Object.isExtensible(context)) {
        warn(MON_FRAMEWORK_CHANGED, "this Koa version's context is not shaped as mon expects; its requests are counted without http.route. Report it with the Koa version.");
        return;
      }
      Object.defineProperty(context, 'req', { set: setReq, enumerable: false, configurable: true });
      routes.addLookup(lookup);
    },
  };
}
