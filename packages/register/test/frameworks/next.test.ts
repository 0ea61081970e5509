import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { nextRoute } from '../../src/frameworks/next.js';

const META = Symbol.for('NextInternalRequestMeta');
const withMeta = (meta: unknown): IncomingMessage => ({ [META]: meta }) as unknown as IncomingMessage;

describe('nextRoute', () => {
  it('the pathname of the match, as Next writes it', () => {
    expect(nextRoute(withMeta({ match: { definition: { pathname: '/users/[id]', page: '/users/[id]/page' } } }))).toBe('/users/[id]');
  });

  it("a page that failed into Next's error page: the route file the router matched", () => {
    expect(nextRoute(withMeta({ match: { definition: { pathname: '/_error' } }, invokeOutput: '/boom/[id]' }))).toBe('/boom/[id]');
  });

  it("Next's own pages and static files: no route", () => {
    expect(nextRoute(withMeta({ match: { definition: { pathname: '/_not-found' } } }))).toBeUndefined();
    expect(nextRoute(withMeta({ match: { definition: { pathname: '/404' } }, invokeOutput: '/404' }))).toBeUndefined();
    expect(nextRoute(withMeta({ initURL: 'http://x/hello.txt' }))).toBeUndefined();
    expect(nextRoute({} as IncomingMessage)).toBeUndefined();
  });

  it('any other shape: no route, no throw', () => {
    for (const meta of [null, 'x', 1, { match: null }, { match: { definition: 'x' } }, { match: { definition: { pathname: 7 } } }, { invokeOutput: 'no-slash' }]) {
      expect(nextRoute(withMeta(meta))).toBeUndefined();
    }
  });
});
