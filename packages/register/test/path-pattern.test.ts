import { describe, expect, it } from 'vitest';
import { compileGlob, compileRouteTemplate, globProblem, isPrefixGlob, routeTemplateProblem } from '../src/path-pattern.js';

describe('compileGlob (MON_IGNORE_PATHS)', () => {
  it.each([
    ['/static/**/*.map', '/static/app.js.map', true],
    ['/static/**/*.map', '/static/a/b/app.js.map', true],
    ['/static/**/*.map', '/static/app.js', false],
    ['/static/**/*.map', '/other/app.js.map', false],
    ['/static/**', '/static/a/b', true],
    ['/static/**', '/static/', true],
    ['/static/**', '/static', false],
    ['/**/x/**/y/**/z', '/x/y/z', true],
    ['/**/x/**/y/**/z', '/a/x/b/y/c/d/z', true],
    ['/**/x/**/y/**/z', '/a/x/b/y/c/d/z/e', false],
    ['/**/x/**/y/**/z', '/y/x/z', false],
    ['/users/*/avatar', '/users/42/avatar', true],
    ['/users/*/avatar', '/users//avatar', true],
    ['/users/*/avatar', '/users/42/x/avatar', false],
    ['/a*b*c/d', '/abc/d', true],
    ['/a*b*c/d', '/a-b-b-c/d', true],
    ['/a*b*c/d', '/acb/d', false],
    ['/a*b*c/d', '/ab/c/d', false],
    ['/*.png', '/x.png', true],
    ['/*.png', '/.png', true],
    ['/*.png', '/png', false],
  ])('%s matches %s: %s', (glob, path, expected) => {
    expect(compileGlob(glob).matches(path)).toBe(expected);
  });

  it('stops at `end` (the query string)', () => {
    const url = '/static/app.js.map?v=1';
    expect(compileGlob('/static/**/*.map').matches(url, url.indexOf('?'))).toBe(true);
    expect(compileGlob('/static/**/*.map').matches(url)).toBe(false);
  });

  it('agrees with a plain backtracking reference on every short path', () => {
    // The old regex translation, for `**` as a whole segment, on all paths over a small alphabet.
    const reference = (glob: string): RegExp =>
      new RegExp(
        `^${glob
          .split('/')
          .map((s) => (s === '**' ? '\u0000' : s.replace(/\*/g, '[^/]*')))
          .join('/')
          .replace(/\/\u0000$/, '/.*')
          .replace(/\/\u0000\//g, '/(?:.*/)?')}$`,
      );
    const globs = ['/**/x/**/y', '/a/**/*b', '/*/x/**', '/**/*x*/**/y*'];
    const paths: string[] = [];
    const grow = (prefix: string, depth: number): void => {
      paths.push(prefix);
      if (depth === 0) return;
      for (const c of ['x', 'y', 'a', 'b', '/']) grow(prefix + c, depth - 1);
    };
    grow('/', 5);
    for (const glob of globs) {
      const ours = compileGlob(glob);
      const theirs = reference(glob);
      for (const path of paths) expect(ours.matches(path), `${glob} on ${path}`).toBe(theirs.test(path));
    }
  });
});

describe('compileRouteTemplate (MON_ROUTE_PATTERNS)', () => {
  it.each([
    ['/users/:id', '/users/7', true],
    ['/users/:id', '/users/7/', true],
    ['/users/:id', '/users/', false],
    ['/users/:id', '/users/7/x', false],
    ['/static/*', '/static/a/b.css', true],
    ['/static/*', '/static/', true],
    ['/static/*', '/static', false],
    ['/*/x/*/y/*/z', '/a/x/b/c/y/d/z', true],
    ['/*/x/*/y/*/z', '/x/y/z', false],
    ['/', '/', true],
    ['/', '/a', false],
  ])('%s matches %s: %s', (template, path, expected) => {
    expect(compileRouteTemplate(template).matches(path)).toBe(expected);
  });
});

describe('hostile paths', () => {
  // 16 KB of `x/y/` against patterns whose regex translation backtracked for tens of seconds: each
  // match is linear, so a few milliseconds is plenty even on a loaded machine (bench: path-pattern.mjs).
  const hostile = `/${'x/y/'.repeat(4096)}`;
  it.each([
    ['glob', compileGlob('/**/x/**/y/**/z')],
    ['glob', compileGlob('/static/**/img/**/*.png')],
    ['template', compileRouteTemplate('/*/x/*/y/*/z')],
  ])('%s does not backtrack', (_kind, pattern) => {
    expect(pattern.matches(hostile)).toBe(false);
  });
});

describe('validation', () => {
  it.each([
    ['/static/**/*.map', undefined],
    ['/ready**', undefined],
    ['static/**', 'it does not start with "/"'],
    ['/static/**.map', '"**" must be a whole segment ("/a/**/b"), not part of "**.map"'],
  ])('glob %s', (glob, problem) => expect(globProblem(glob)).toBe(problem));
  it.each([
    ['/users/:id', undefined],
    ['/files/*', undefined],
    ['/files/*.png', '"*" must be a whole segment ("/files/*"), not part of "*.png"'],
    ['users/:id', 'it does not start with "/"'],
  ])('template %s', (template, problem) => expect(routeTemplateProblem(template)).toBe(problem));
  it('prefix globs', () => {
    expect(isPrefixGlob('/ready*')).toBe(true);
    expect(isPrefixGlob('/ready**')).toBe(true);
    expect(isPrefixGlob('/static/**')).toBe(false);
    expect(isPrefixGlob('/a/*/b')).toBe(false);
  });
});
