import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { metrics, type MeterProvider } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_API_VERSION, registerAsBundledApi } from '../src/app-api.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const KEY = Symbol.for('opentelemetry.js.api.1');
const globals = globalThis as Record<symbol, { version?: string; metrics?: unknown } | undefined>;
const provider = (): MeterProvider => ({ getMeter: () => metrics.getMeterProvider().getMeter('noop') });

// The preload registers its stand-in MeterProvider the way mon's bundled API would, without
// loading it (first-need.ts): what the API then sees must be the same.
describe('registerAsBundledApi', () => {
  afterEach(() => metrics.disable());

  it("stamps the bundled API's own version on the global", () => {
    metrics.disable();
    delete globals[KEY];
    expect(metrics.setGlobalMeterProvider(provider())).toBe(true);
    expect(globals[KEY]?.version).toBe(BUNDLED_API_VERSION);
  });

  it('is what the API hands out, and refused once a provider is registered, as the API refuses', () => {
    delete globals[KEY];
    const ours = provider();
    expect(registerAsBundledApi(ours)).toBe(true);
    expect(metrics.getMeterProvider()).toBe(ours);
    expect(registerAsBundledApi(provider())).toBe(false);
    expect(metrics.setGlobalMeterProvider(provider())).toBe(false);
    expect(metrics.getMeterProvider()).toBe(ours);
  });

  it('registers nothing on a global made by another version', () => {
    globals[KEY] = { version: '1.0.0' };
    expect(registerAsBundledApi(provider())).toBe(false);
    expect(globals[KEY]?.metrics).toBeUndefined();
    delete globals[KEY];
  });
});

// The preload tests for an installed API by a stat per folder before it asks require.resolve
// (most processes have none): the test must never say no where require.resolve finds one.
describe('mayResolve', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mon-may-resolve-'));
    const api = path.join(root, 'node_modules/@opentelemetry/api');
    const layout: Record<string, string> = {
      'bare/main.js': '',
      'plain-app/package.json': JSON.stringify({ name: 'shop', dependencies: { express: '5' } }),
      'plain-app/main.js': '',
      'app/package.json': JSON.stringify({ name: 'shop' }),
      'app/src/deep/main.js': '',
      'node-path/main.js': '',
      'self/package.json': JSON.stringify({ name: '@opentelemetry/api', exports: { '.': './index.js' } }),
      'self/index.js': '',
      'self/test/main.js': '',
      'escaped/package.json': '{ "name": "@\\u006fpentelemetry/api", "exports": "./index.js" }',
      'escaped/index.js': '',
      'global/@opentelemetry/api/package.json': JSON.stringify({ name: '@opentelemetry/api', main: 'index.js' }),
      'global/@opentelemetry/api/index.js': '',
    };
    for (const [file, text] of Object.entries(layout)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    mkdirSync(path.join(dir, 'app/node_modules/@opentelemetry'), { recursive: true });
    symlinkSync(api, path.join(dir, 'app/node_modules/@opentelemetry/api'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** [mayResolve, whether require.resolve finds the API] from each file, in a plain node process. */
  function answers(files: string[], env: Record<string, string> = {}, args: string[] = []): Array<[boolean, boolean]> {
    const script = `
      import { createRequire } from 'node:module';
      import { mayResolve } from ${JSON.stringify(pathToFileURL(path.join(root, 'packages/register/dist/app-api.js')).href)};
      const out = ${JSON.stringify(files)}.map((from) => {
        const require = createRequire(from);
        let found = true;
        try { require.resolve('@opentelemetry/api'); } catch { found = false; }
        return [mayResolve(require, from), found];
      });
      console.log(JSON.stringify(out));`;
    const child = spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], { env: { PATH: process.env.PATH, HOME: dir, ...env }, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    return JSON.parse(child.stdout) as Array<[boolean, boolean]>;
  }
  const at = (file: string): string => path.join(dir, file);

  it('says no, without asking Node, where no folder Node looks in has an @opentelemetry folder', () => {
    expect(answers([at('bare/main.js'), at('plain-app/main.js'), at('nowhere/[eval]')])).toEqual([
      [false, false],
      [false, false],
      [false, false],
    ]);
  });

  it('says maybe wherever require.resolve finds the API: node_modules up the tree, NODE_PATH, the package itself', () => {
    expect(answers([at('app/src/deep/main.js'), at('self/test/main.js'), at('escaped/main.js')])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    expect(answers([at('node-path/main.js')], { NODE_PATH: at('global') })).toEqual([[true, true]]);
  });

  it('asks Node when a CommonJS module loaded first may have changed how it resolves (Yarn PnP, aliases)', () => {
    writeFileSync(at('hook.cjs'), '');
    expect(answers([at('bare/main.js')], {}, ['--require', at('hook.cjs')])).toEqual([[true, false]]);
  });
});
