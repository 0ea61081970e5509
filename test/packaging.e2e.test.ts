// Installs that work outside the repo: every package packed with `npm pack`, installed from the
// tarballs into a fresh app in a temporary directory, and used there the way a user would.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, sleep, spawnApp, sumSamples, request, scrape, type App } from './helpers.js';

const PACKAGES = ['register', 'prometheus', 'host', 'live'];
let dir: string;
const tarballs: Record<string, string> = {};
let app: App | undefined;

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

function sizeOf(target: string): number {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(target).reduce((total, entry) => total + sizeOf(path.join(target, entry)), 0);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mon-install-'));
  const packs = path.join(dir, 'tarballs');
  mkdirSync(packs);
  for (const name of PACKAGES) {
    const [result] = JSON.parse(npm(['pack', path.join(root, 'packages', name), '--json', '--pack-destination', packs], dir)) as Array<{ filename: string }>;
    tarballs[name] = path.join(packs, result!.filename);
  }
}, 120_000);

afterAll(async () => {
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('every package', () => {
  it.each(PACKAGES)('@mon/%s declares files, exports, types, engines and a licence', (name) => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'packages', name, 'package.json'), 'utf8'));
    expect(pkg.name).toBe(`@mon/${name}`);
    expect(pkg.license).toBe('Apache-2.0');
    expect(pkg.engines.node).toBe('>=20.6.0');
    expect(pkg.files.length).toBeGreaterThan(0);
    expect(pkg.exports['.'].types).toMatch(/\.d\.ts$/);
    expect(pkg.exports['.'].default).toMatch(/\.js$/);
    expect(pkg.types).toBe(pkg.exports['.'].types);
    // The tarball holds what the exports point at, and no tests or sources beyond that.
    const listing = execFileSync('tar', ['tzf', tarballs[name]!], { encoding: 'utf8' });
    expect(listing).toContain(`package/${pkg.exports['.'].default.replace('./', '')}`);
    expect(listing).toContain(`package/${pkg.exports['.'].types.replace('./', '')}`);
    expect(listing).not.toMatch(/package\/(test|src)\//);
  });

  it.each(PACKAGES)('@mon/%s ships no build script, and every source map a file names', (name) => {
    const files = execFileSync('tar', ['tzf', tarballs[name]!], { encoding: 'utf8' }).trim().split('\n');
    // bundle.mjs imports esbuild, which is no dependency: a build step, not part of the package.
    expect(files).not.toContain('package/bundle.mjs');
    const unpacked = path.join(dir, `unpacked-${name}`);
    mkdirSync(unpacked);
    execFileSync('tar', ['xzf', tarballs[name]!, '-C', unpacked]);
    let named = 0;
    for (const file of files.filter((f) => /\.(m?js|d\.ts)$/.test(f))) {
      const text = readFileSync(path.join(unpacked, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"]esbuild['"]/);
      const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      if (map === undefined || map.startsWith('data:')) continue;
      named++;
      expect(files, `${file} names ${map}`).toContain(path.posix.join(path.posix.dirname(file), map));
    }
    expect(named).toBeGreaterThan(0);
  });
});

describe('a fresh app outside the repo', () => {
  let appDir: string;

  beforeAll(() => {
    appDir = path.join(dir, 'app');
    mkdirSync(appDir);
    writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true }));
    npm(['install', '--prefer-offline', tarballs.register!], appDir);
  }, 120_000);

  it('installs @mon/register with nothing else, within 15 MB', () => {
    const installed = readdirSync(path.join(appDir, 'node_modules')).filter((e) => !e.startsWith('.'));
    expect(installed).toEqual(['@mon']);
    expect(readdirSync(path.join(appDir, 'node_modules/@mon'))).toEqual(['register']);
    const bytes = sizeOf(path.join(appDir, 'node_modules'));
    console.log(`installed footprint of @mon/register: ${(bytes / 1024 / 1024).toFixed(2)} MB`);
    expect(bytes).toBeLessThan(15 * 1024 * 1024);
  });

  it.each([
    ['ESM', 'server.mjs', "import http from 'node:http';"],
    ['CommonJS', 'server.cjs', "const http = require('node:http');"],
  ])('runs a %s app under node --import @mon/register', async (_kind, file, importLine) => {
    writeFileSync(
      path.join(appDir, file),
      `${importLine}
const server = http.createServer((req, res) => res.end('ok'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening ' + server.address().port));
`,
    );
    app = await spawnApp(path.join(appDir, file), { cwd: appDir });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    await sleep(50);
    const text = (await scrape(app.metricsPort)).body;
    expect(sumSamples(text, 'http_server_requests_total')).toBe(3);
    expect(text).toContain('target_info{service_name="fresh-app"');
    expect(text).toContain('process_cpu_time_seconds_total');
    expect(app.stderr()).toBe('');
    await app.stop();
    app = undefined;
  });

  it('resolves the TypeScript types of @mon/prometheus and @mon/host', () => {
    npm(['install', '--prefer-offline', tarballs.prometheus!, tarballs.host!, '@types/node@20'], appDir);
    writeFileSync(
      path.join(appDir, 'check.ts'),
      `import { PrometheusReader, prometheusMetricName, type PrometheusReaderOptions } from '@mon/prometheus';
import { startHostMetrics, HOST_METRIC_NAMES } from '@mon/host';
const options: PrometheusReaderOptions = { port: 9464, auth: { bearer: 't' } };
const reader: PrometheusReader = new PrometheusReader(options);
const name: string = prometheusMetricName('http.server.request.duration', 's', 'histogram');
const groups: readonly string[] = HOST_METRIC_NAMES.cpu;
export { reader, name, groups, startHostMetrics };
// @ts-expect-error: a wrong option type must be an error, or the types resolve to any.
new PrometheusReader({ port: 'nine' });
`,
    );
    writeFileSync(
      path.join(appDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], skipLibCheck: false }, files: ['check.ts'] }),
    );
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', appDir], { encoding: 'utf8' });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});
