import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FrameworkRoutes } from '../../src/frameworks/framework-routes.js';

const request = (): IncomingMessage => ({}) as IncomingMessage;

describe('FrameworkRoutes', () => {
  it("a recorded route wins, and the other lookups (Fastify 5's router lookups) do not run for it", () => {
    const routes = new FrameworkRoutes();
    let lookups = 0;
    routes.addLookup(() => {
      lookups++;
      return '/from-lookup';
    });
    const named = request();
    routes.record(named, '/users/:id');
    expect(routes.routeOf(named, 200)).toBe('/users/:id');
    expect(lookups).toBe(0);
    // A request nobody recorded still gets the lookups.
    expect(routes.routeOf(request(), 200)).toBe('/from-lookup');
    expect(lookups).toBe(1);
  });

  it('requests whose handlers interleave (recorded while others are in flight) each keep their own route', () => {
    const routes = new FrameworkRoutes();
    const [a, b, c] = [request(), request(), request()];
    routes.record(a, '/a');
    routes.record(b, '/b');
    routes.record(c, '/c');
    expect(routes.routeOf(b, 200)).toBe('/b');
    expect(routes.routeOf(c, 200)).toBe('/c');
    expect(routes.routeOf(a, 200)).toBe('/a');
    // Recorded again (Fastify 4's hook then a later record of the same request): the latest holds.
    routes.record(a, '/a2');
    routes.record(a, '/a3');
    expect(routes.routeOf(a, 200)).toBe('/a3');
  });

  it('an HTTP/2 compatibility request is kept under its stream', () => {
    const routes = new FrameworkRoutes();
    const stream = {} as IncomingMessage;
    const compat = { stream } as unknown as IncomingMessage;
    routes.record(compat, '/h2');
    routes.record(request(), '/other');
    expect(routes.routeOf(stream, 200)).toBe('/h2');
  });

  it('nothing recorded and no lookup: no route', () => {
    expect(new FrameworkRoutes().routeOf(request(), 200)).toBeUndefined();
  });
});
