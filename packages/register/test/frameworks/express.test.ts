import { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { captureExpressMountPaths, isCatchAllNotFound } from '../../src/frameworks/express.js';

const stops: Array<() => void> = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

/** Express's chain: a request -> app.request -> express.request -> IncomingMessage.prototype. */
function expressChain(): { expressRequest: object; newRequest: () => IncomingMessage & { route?: unknown; baseUrl?: unknown } } {
  const expressRequest = Object.create(IncomingMessage.prototype) as object;
  const appRequest = Object.create(expressRequest, { app: { value: {} } }) as object;
  return { expressRequest, newRequest: () => Object.create(appRequest) as IncomingMessage };
}

describe('captureExpressMountPaths', () => {
  it('keeps the mount path of the moment req.route is assigned; req.route reads and lists as before', () => {
    const mounts = captureExpressMountPaths();
    stops.push(mounts.stop);
    const { newRequest } = expressChain();
    const first = newRequest();
    mounts.learnFrom(first);
    const req = newRequest();
    const route = { path: '/boom/:id' };
    req.baseUrl = '/api/v1';
    req.route = route;
    // Express restores baseUrl as the request leaves the router.
    req.baseUrl = '';
    expect(mounts.matchedBaseUrl(req)).toBe('/api/v1');
    expect(req.route).toBe(route);
    expect(Object.hasOwn(req, 'route')).toBe(true);
    expect(Object.keys(req)).toEqual(['baseUrl', 'route']);
    expect({ ...req }.route).toBe(route);
    // next('route') and a later match: the later one wins, with its own mount path.
    const later = { path: '/boom/:name' };
    req.route = later;
    expect(req.route).toBe(later);
    expect(mounts.matchedBaseUrl(req)).toBe('');
  });

  it('never throws into Express: a request whose baseUrl getter throws', () => {
    const mounts = captureExpressMountPaths();
    stops.push(mounts.stop);
    const { newRequest } = expressChain();
    mounts.learnFrom(newRequest());
    const req = newRequest();
    Object.defineProperty(req, 'baseUrl', {
      get() {
        throw new Error('hostile');
      },
    });
    expect(() => (req.route = { path: '/x' })).not.toThrow();
    expect(mounts.matchedBaseUrl(req)).toBeUndefined();
  });

  it('leaves a request prototype that already has `route` alone', () => {
    const mounts = captureExpressMountPaths();
    stops.push(mounts.stop);
    const { expressRequest, newRequest } = expressChain();
    Object.defineProperty(expressRequest, 'route', { value: 'theirs', writable: true, configurable: true });
    mounts.learnFrom(newRequest());
    expect(Object.getOwnPropertyDescriptor(expressRequest, 'route')?.value).toBe('theirs');
  });

  it('stop() removes the accessor from the prototype', () => {
    const mounts = captureExpressMountPaths();
    const { expressRequest, newRequest } = expressChain();
    mounts.learnFrom(newRequest());
    expect(Object.getOwnPropertyDescriptor(expressRequest, 'route')?.set).toBeTypeOf('function');
    mounts.stop();
    expect(Object.getOwnPropertyDescriptor(expressRequest, 'route')).toBeUndefined();
  });
});

describe('isCatchAllNotFound', () => {
  it.each([
    ['*', 404, true],
    ['/*', 404, true],
    ['*path', 404, true],
    ['/{*splat}', 404, true],
    ['/*', 200, false],
    ['/files/*', 404, false],
    ['/users/:id', 404, false],
  ])('%s answering %i: %s', (path, status, expected) => expect(isCatchAllNotFound({ path }, status)).toBe(expected));
});
