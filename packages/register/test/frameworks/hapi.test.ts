import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { captureStderr } from '../stderr.js';
import { FrameworkRoutes } from '../../src/frameworks/framework-routes.js';
import { hapiWatch } from '../../src/frameworks/hapi.js';

const stderr = captureStderr();

describe('hapiWatch', () => {
  it("links a request to hapi's request through the constructor's `this.raw = { req, res }`", () => {
    // hapi's constructor assigns `this.raw = { req, res }` (a plain assignment reaches the accessor).
    function HapiRequest(this: { raw?: unknown; route?: unknown }, req: object, res: object): void {
      this.raw = { req, res };
    }
    const routes = new FrameworkRoutes();
    hapiWatch(routes).loaded(HapiRequest);
    const req = {} as IncomingMessage;
    const request = new (HapiRequest as unknown as new (req: object, res: object) => { raw: { req: unknown }; route?: unknown })(req, {});
    expect(request.raw.req).toBe(req);
    expect(Object.keys(request)).toEqual(['raw']);
    request.route = { path: '/users/{id}', method: 'get' };
    expect(routes.routeOf(req, 200)).toBe('/users/{id}');
    // hapi's not-found route.
    request.route = { path: '/{p*}', method: '_special' };
    expect(routes.routeOf(req, 404)).toBeUndefined();
    expect(stderr()).toEqual([]);
  });

  it('a Request of another shape: no route and one warning', () => {
    const watch = hapiWatch(new FrameworkRoutes());
    watch.loaded({});
    watch.loaded(class {
      get raw(): unknown {
        return undefined;
      }
    });
    expect(stderr()).toHaveLength(1);
    expect(stderr()[0]).toMatch(/^mon: this hapi version's Request is not shaped as mon expects; .* \[MON_FRAMEWORK_CHANGED\]\n$/);
  });
});
