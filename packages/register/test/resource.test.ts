import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildResource } from '../src/resource.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mon-resource-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
};
const serviceName = (script: string | undefined) => buildResource({ serviceName: undefined, resourceAttributes: {} }, script).attributes['service.name'];

describe('buildResource: service.name', () => {
  // An app with a tool installed as npm installs it: the package, and a .bin symlink to its bin.
  write('app/package.json', JSON.stringify({ name: 'my-app', version: '1.0.0' }));
  write('app/server.js', '');
  write('app/node_modules/json-server/package.json', JSON.stringify({ name: 'json-server', version: '1.0.0' }));
  write('app/node_modules/json-server/lib/bin.js', '');
  mkdirSync(path.join(dir, 'app/node_modules/.bin'));
  symlinkSync('../json-server/lib/bin.js', path.join(dir, 'app/node_modules/.bin/json-server'));
  // npx's cache: a package.json without a name above its .bin.
  write('npx/package.json', JSON.stringify({ dependencies: { 'json-server': '1.0.0' } }));
  mkdirSync(path.join(dir, 'npx/node_modules/.bin'), { recursive: true });
  symlinkSync(path.join(dir, 'app/node_modules/json-server/lib/bin.js'), path.join(dir, 'npx/node_modules/.bin/json-server'));

  it("is the app's package name for its own script", () => {
    expect(serviceName(path.join(dir, 'app/server.js'))).toBe('my-app');
  });

  it('is the same for a bin however it is launched: by its real path, its .bin symlink, or npx', () => {
    const real = serviceName(path.join(dir, 'app/node_modules/json-server/lib/bin.js'));
    expect(real).toBe('json-server');
    expect(serviceName(path.join(dir, 'app/node_modules/.bin/json-server'))).toBe(real);
    expect(serviceName(path.join(dir, 'npx/node_modules/.bin/json-server'))).toBe(real);
  });

  it('falls back to the path as given when it does not resolve', () => {
    expect(serviceName(path.join(dir, 'app/gone.js'))).toBe('my-app');
  });
});
