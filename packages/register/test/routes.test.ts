import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { captureStderr } from './stderr.js';
import { createPathFilter, createRouteResolver, MAX_ROUTE_LENGTH, normalizePath, OTHER_ROUTE } from '../src/routes.js';

const req = (url: string, extra: object = {}): IncomingMessage => ({ url, ...extra }) as IncomingMessage;

const captured = captureStderr();

describe('normalizePath', () => {
  it.each([
    ['/users/42', '/users/:id'],
    ['/users/0b7e4a52-7b1c-4a53-9b66-d1c5c8f0e0aa/avatar', '/users/:id/avatar'],
    ['/blobs/9f86d081884c7d65', '/blobs/:id'],
    ['/users/bob', '/users/bob'],
    ['/v2/items', '/v2/items'],
    ['/', '/'],
  ])('%s -> %s', (path, expected) => expect(normalizePath(path)).toBe(expected));
});

/** A resolver whose framework subscription is removed after the test. */
const stops: Array<() => void> = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));
function resolver(options: Parameters<typeof createRouteResolver>[0]): (request: IncomingMessage, status?: number) => string | undefined {
  const { routeOf, stop } = createRouteResolver(options);
  stops.push(stop);
  return (request, status = 200) => routeOf(request, status);
}

describe('createRouteResolver', () => {
  it('gives no route to a plain request unless opted in', () => {
    expect(resolver({ maxRoutes: 10 })(req('/users/1'))).toBeUndefined();
  });

  it('ignores a req.route that is not an Express Route object, without throwing', () => {
    const routeOf = resolver({ maxRoutes: 10 });
    for (const route of ['home', 42, true]) expect(routeOf(req('/x', { route, baseUrl: '/api' }))).toBeUndefined();
  });

  it('gives no route when no router of the app explains the mount path, never the baseUrl', () => {
    // No `req.app` to walk: the baseUrl is all there is, and it is what the client sent.
    for (const normalize of [false, true]) {
      const routeOf = resolver({ normalize, maxRoutes: 10 });
      expect(routeOf(req('/7', { route: { path: '/:item' }, baseUrl: '/api/users/42/items' }))).toBeUndefined();
      expect(routeOf(req('/1', { route: { path: '/:id' }, baseUrl: '/API/client-text', app: { get: () => false } }))).toBeUndefined();
    }
  });

  it('never makes a route out of a 404 path when normalising', () => {
    const routeOf = resolver({ normalize: true, maxRoutes: 10 });
    expect(routeOf(req('/wp-login.php'), 404)).toBeUndefined();
    expect(routeOf(req('/users/7'), 404)).toBeUndefined();
    expect(routeOf(req('/users/7'), 200)).toBe('/users/:id');
  });

  it('a route matched outside any mount is its own pattern', () => {
    const routeOf = resolver({ maxRoutes: 10 });
    expect(routeOf(req('/x', { route: { path: '/x' }, baseUrl: '' }))).toBe('/x');
    expect(routeOf(req('/f.txt', { route: { path: /^\/f/ } }))).toBe('/^\\/f/');
  });

  it('matches MON_ROUTE_PATTERNS before normalising, ignoring the query string', () => {
    const routeOf = resolver({ patterns: ['/users/:id', '/static/*'], normalize: true, maxRoutes: 10 });
    expect(routeOf(req('/users/abc?x=1'))).toBe('/users/:id');
    expect(routeOf(req('/static/a/b.css'))).toBe('/static/*');
    expect(routeOf(req('/orders/12'))).toBe('/orders/:id');
  });

  it('caps distinct routes, then says _OTHER and warns once', () => {
    const routeOf = resolver({ normalize: true, maxRoutes: 2 });
    expect(routeOf(req('/a'))).toBe('/a');
    expect(routeOf(req('/b'))).toBe('/b');
    expect(routeOf(req('/c'))).toBe(OTHER_ROUTE);
    expect(routeOf(req('/d'))).toBe(OTHER_ROUTE);
    expect(routeOf(req('/a'))).toBe('/a');
    expect(captured()).toHaveLength(1);
    expect(captured()[0]).toContain('MON_MAX_ROUTES');
  });
});

describe('createPathFilter', () => {
  const ignored = createPathFilter(['/healthz', '/ready*', '/static/**/*.map', '/users/*/avatar']);
  it.each([
    ['/healthz', true],
    ['/healthz?verbose=1', true],
    ['/healthz/x', false],
    ['/readyz', true],
    ['/static/a/b/c.js.map', true],
    ['/static/c.js', false],
    ['/users/42/avatar', true],
    ['/users/42/x/avatar', false],
    ['/work', false],
    [undefined, false],
  ])('%s ignored: %s', (url, expected) => expect(ignored(url)).toBe(expected));
});

describe('route length', () => {
  it(`a route longer than MAX_ROUTE_LENGTH is _OTHER, whole, with one warning`, () => {
    const routeOf = resolver({ normalize: true, maxRoutes: 10 });
    // Dots: not an id, so normalisation keeps it as it is.
    const long = `/${'a.'.repeat(MAX_ROUTE_LENGTH / 2)}`;
    expect(routeOf(req(long))).toBe(OTHER_ROUTE);
    expect(routeOf(req(`${long}b`))).toBe(OTHER_ROUTE);
    expect(routeOf(req(long.slice(0, MAX_ROUTE_LENGTH)))).toBe(long.slice(0, MAX_ROUTE_LENGTH));
    expect(routeOf(req('/x', { route: { path: `/${'b.'.repeat(MAX_ROUTE_LENGTH / 2)}` } }))).toBe(OTHER_ROUTE);
    expect(captured().filter((l) => l.includes('MON_ROUTE_TOO_LONG'))).toHaveLength(1);
  });
});
