import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { captureStderr } from '../stderr.js';
import { FrameworkRoutes } from '../../src/frameworks/framework-routes.js';
import { koaWatch } from '../../src/frameworks/koa.js';

const stderr = captureStderr();

describe('koaWatch', () => {
  it("links a request to its context through Koa's `context.req = req`, and reads _matchedRoute at the end", () => {
    const routes = new FrameworkRoutes();
    const baseContext = {};
    koaWatch(routes).loaded(baseContext);
    // What Koa's createContext does.
    const appContext = Object.create(baseContext) as object;
    const ctx = Object.create(appContext) as { req?: unknown; _matchedRoute?: unknown };
    const req = {} as IncomingMessage;
    ctx.req = req;
    expect(ctx.req).toBe(req);
    expect(Object.keys(ctx)).toEqual(['req']);
    expect(routes.routeOf(req, 200)).toBeUndefined();
    ctx._matchedRoute = '/api/users/:id';
    expect(routes.routeOf(req, 200)).toBe('/api/users/:id');
    ctx._matchedRoute = /^\/files\/.+$/;
    expect(routes.routeOf(req, 200)).toBe('/^\\/files\\/.+$/');
    ctx._matchedRoute = 42;
    expect(routes.routeOf(req, 200)).toBeUndefined();
    expect(stderr()).toEqual([]);
  });

  it('a context of another shape: no route and one warning, however often it loads', () => {
    const routes = new FrameworkRoutes();
    const watch = koaWatch(routes);
    const changed = { req: null };
    watch.loaded(changed);
    watch.loaded(Object.freeze({}));
    watch.loaded('not an object');
    expect(Object.getOwnPropertyDescriptor(changed, 'req')).toEqual({ value: null, writable: true, enumerable: true, configurable: true });
    expect(stderr()).toHaveLength(1);
    expect(stderr()[0]).toMatch(/^mon: this Koa version's context is not shaped as mon expects; .* \[MON_FRAMEWORK_CHANGED\]\n$/);
  });

  it('the same copy loaded again is left as it is, without a warning', () => {
    const routes = new FrameworkRoutes();
    const watch = koaWatch(routes);
    const baseContext = {};
    watch.loaded(baseContext);
    watch.loaded(baseContext);
    expect(stderr()).toEqual([]);
  });
});
