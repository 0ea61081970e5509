// Installs that work outside the repo: every package packed with `npm pack`, installed from the
// tarballs into a fresh app in a temporary directory, and used there the way a user would.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, root, sample, sleep, spawnApp, sumSamples, request, scrape, type App } from './helpers.js';

const PACKAGES = ['register', 'prometheus', 'host', 'live', 'warnings'];
let dir: string;
const tarballs: Record<string, string> = {};
let app: App | undefined;

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

/**
 * An install line from the docs, run as a user runs it (npm's own log level: warnings show), with each
 * `@mon/<name>` swapped for its packed tarball; @mon/warnings, which is not on the registry here,
 * comes from its tarball too where a package depends on it. Returns what npm printed and how it exited.
 */
function runInstallLine(line: string, cwd: string): { status: number | null; output: string } {
  const [command, verb, ...specs] = line.trim().split(/\s+/);
  expect([command, verb], line).toEqual(['npm', 'install']);
  const args = specs.map((spec) => (/^@mon\/[a-z]+$/.test(spec) ? tarballs[spec.slice('@mon/'.length)]! : spec));
  // @mon/prometheus and @mon/host depend on it; @mon/register bundles it.
  if (specs.some((s) => s === '@mon/prometheus' || s === '@mon/host') && !specs.includes('@mon/warnings')) args.push(tarballs.warnings!);
  const result = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** What a newcomer must never see from an install line. */
const NPM_COMPLAINT = /npm (warn|error|ERR)|ERESOLVE|EBADENGINE|allowScripts/i;

/** The `npm install` lines of the first shell block after `heading` in a markdown file. */
function installLines(file: string, heading: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  expect(at, `${file} has "${heading}"`).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))?.[1] ?? '';
  return block.split('\n').filter((l) => l.startsWith('npm install '));
}

/** sdk-metrics 3 (api 1.10) declares Node 22.15 or later; on older lines the docs give sdk-metrics 2 with api 1.9. */
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const NEWEST_SDK_RUNS_HERE = major > 22 || (major === 22 && minor >= 15);

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

  it.each(PACKAGES)('@mon/%s ships no build script, every source map a file names, and every source a map names', (name) => {
    const files = execFileSync('tar', ['tzf', tarballs[name]!], { encoding: 'utf8' }).trim().split('\n');
    // bundle.mjs imports esbuild, which is no dependency: a build step, not part of the package.
    expect(files).not.toContain('package/bundle.mjs');
    const unpacked = path.join(dir, `unpacked-${name}`);
    mkdirSync(unpacked);
    execFileSync('tar', ['xzf', tarballs[name]!, '-C', unpacked]);
    const named: string[] = [];
    for (const file of files.filter((f) => /\.([cm]?js|d\.ts)$/.test(f))) {
      const text = readFileSync(path.join(unpacked, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"]esbuild['"]/);
      const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      if (map === undefined || map.startsWith('data:')) continue;
      const mapFile = path.posix.join(path.posix.dirname(file), map);
      named.push(mapFile);
      expect(files, `${file} names ${map}`).toContain(mapFile);
      // A map whose sources are neither shipped nor inlined (sourcesContent) sends a user's "go to
      // definition" or debugger to a file that is not there: worse than no map.
      const { sources, sourcesContent, sourceRoot = '' } = JSON.parse(readFileSync(path.join(unpacked, mapFile), 'utf8'));
      (sources as string[]).forEach((source, i) => {
        if (typeof sourcesContent?.[i] === 'string') return;
        const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(mapFile), sourceRoot, source));
        expect(files, `${mapFile} names ${source}, neither shipped nor inlined`).toContain(shipped);
      });
    }
    expect(named.length).toBeGreaterThan(0);
    // Nor a map no file names (a stale dist/*.d.ts.map from before declaration maps were turned off).
    expect(files.filter((f) => f.endsWith('.map') && !named.includes(f))).toEqual([]);
  });
});

describe('a fresh app outside the repo', () => {
  let appDir: string;
  let installed: { status: number | null; output: string };

  beforeAll(() => {
    appDir = path.join(dir, 'app');
    mkdirSync(appDir);
    writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true }));
    // The README's line, as it is written there.
    const [line, ...others] = installLines('README.md', '## In your own app');
    expect(others).toEqual([]);
    expect(line).toBe('npm install @mon/register');
    installed = runInstallLine(line!, appDir);
  }, 120_000);

  it("installs with the README's line, printing no warning", () => {
    expect(installed.output).not.toMatch(NPM_COMPLAINT);
    expect(installed.status).toBe(0);
  });

  it('installs @mon/register with nothing else, within 15 MB', () => {
    const installed = readdirSync(path.join(appDir, 'node_modules')).filter((e) => !e.startsWith('.'));
    expect(installed).toEqual(['@mon']);
    expect(readdirSync(path.join(appDir, 'node_modules/@mon'))).toEqual(['register']);
    const bytes = sizeOf(path.join(appDir, 'node_modules'));
    console.log(`installed footprint of @mon/register: ${(bytes / 1024 / 1024).toFixed(2)} MB`);
    expect(bytes).toBeLessThan(15 * 1024 * 1024);
  });

  it.each([
    ['ESM', '--import', 'server.mjs', "import http from 'node:http';"],
    ['CommonJS', '--import', 'server.cjs', "const http = require('node:http');"],
    ['CommonJS', '-r', 'server.cjs', "const http = require('node:http');"],
  ])('runs a %s app under node %s @mon/register', async (_kind, flag, file, importLine) => {
    writeFileSync(
      path.join(appDir, file),
      `${importLine}
const server = http.createServer((req, res) => res.end('ok'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening ' + server.address().port));
`,
    );
    app = await spawnApp(path.join(appDir, file), { cwd: appDir, nodeArgs: [flag, '@mon/register'] });
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
});

// The app brings the SDK: @mon/prometheus and @mon/host take the app's @opentelemetry/api and
// sdk-metrics as peers (2.x with api 1.9, 3.x with api 1.10), installed from the registry as a user would.
const APP_OWN_PROVIDER = `import http from 'node:http';
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusReader } from '@mon/prometheus';
import { startHostMetrics } from '@mon/host';
const provider = new MeterProvider({ readers: [new PrometheusReader({ host: '127.0.0.1', port: Number(process.env.APP_METRICS_PORT) })] });
console.log('registered ' + metrics.setGlobalMeterProvider(provider));
startHostMetrics(provider, { groups: ['memory'] });
const orders = metrics.getMeter('shop').createCounter('shop.orders');
const server = http.createServer((req, res) => { orders.add(1); res.end('ok'); });
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

// The issue a user met: an app on @opentelemetry/api 1.10 without an SDK yet. On Node 20 npm can pick
// no sdk-metrics that takes api 1.10 (3.x needs Node 22.15, 2.x caps the api below 1.10), so a required
// peer failed `npm install @mon/prometheus` with ERESOLVE. The peer is optional: the SDK is the app's.
describe('an app with @opentelemetry/api 1.10.0 and no SDK yet', () => {
  let appDir: string;

  beforeAll(() => {
    appDir = path.join(dir, 'api-1-10-app');
    mkdirSync(appDir);
    writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'api-app', version: '1.0.0', private: true }));
    writeFileSync(path.join(appDir, 'server.mjs'), APP_OWN_PROVIDER);
    npm(['install', '--prefer-offline', '@opentelemetry/api@1.10.0'], appDir);
  }, 120_000);

  it('`npm install @mon/prometheus` installs, printing no warning, and leaves the choice of SDK to the app', () => {
    const { status, output } = runInstallLine('npm install @mon/prometheus', appDir);
    expect(output).not.toMatch(NPM_COMPLAINT);
    expect(status).toBe(0);
    const api = JSON.parse(readFileSync(path.join(appDir, 'node_modules/@opentelemetry/api/package.json'), 'utf8'));
    expect(api.version).toBe('1.10.0');
    expect(readdirSync(path.join(appDir, 'node_modules/@opentelemetry'))).toEqual(['api']);
  }, 120_000);

  it(`the line docs/packages.md gives for Node ${major} installs the SDK, printing no warning, and the app serves its metrics`, async () => {
    const lines = installLines('docs/packages.md', '## Installing');
    expect(lines.length).toBe(2);
    // The first line is for Node 22.15 and later, the second for Node 20 (the comments above them say so).
    const line = NEWEST_SDK_RUNS_HERE ? lines[0]! : lines[1]!;
    const { status, output } = runInstallLine(line, appDir);
    expect(output).not.toMatch(NPM_COMPLAINT);
    expect(status).toBe(0);
    const sdk = JSON.parse(readFileSync(path.join(appDir, 'node_modules/@opentelemetry/sdk-metrics/package.json'), 'utf8'));
    expect(sdk.version).toMatch(NEWEST_SDK_RUNS_HERE ? /^3\./ : /^2\./);

    const appMetricsPort = await freePort();
    app = await spawnApp(path.join(appDir, 'server.mjs'), { cwd: appDir, nodeArgs: [], env: { APP_METRICS_PORT: String(appMetricsPort) } });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    const text = (await scrape(appMetricsPort)).body;
    expect(sample(text, 'shop_orders_total')).toBe(3);
    expect(sample(text, 'process_memory_usage_bytes')).toBeGreaterThan(0);
    expect(app.stderr()).toBe('');
    await app.stop();
    app = undefined;
  }, 180_000);

  it('resolves the TypeScript types of @mon/prometheus and @mon/host', () => {
    npm(['install', '--prefer-offline', '@types/node@20'], appDir);
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

describe.each([
  ['2.12.1', '1.9.1'],
  ['3.1.1', '1.10.0'],
])('an app with its own sdk-metrics %s (api %s)', (sdkVersion, apiVersion) => {
  let appDir: string;
  let appMetricsPort: number;

  beforeAll(async () => {
    appDir = path.join(dir, `own-sdk-${sdkVersion}`);
    mkdirSync(appDir);
    writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'own-sdk-app', version: '1.0.0', private: true }));
    writeFileSync(path.join(appDir, 'server.mjs'), APP_OWN_PROVIDER);
    // A peer conflict would fail this install (npm 7+ treats peer ranges as hard requirements).
    npm(['install', '--prefer-offline', tarballs.register!, tarballs.prometheus!, tarballs.host!, tarballs.warnings!,
      `@opentelemetry/sdk-metrics@${sdkVersion}`, `@opentelemetry/api@${apiVersion}`], appDir);
    appMetricsPort = await freePort();
  }, 180_000);

  it('serves its own instruments and host metrics through PrometheusReader and startHostMetrics', async () => {
    app = await spawnApp(path.join(appDir, 'server.mjs'), { cwd: appDir, nodeArgs: [], env: { APP_METRICS_PORT: String(appMetricsPort) } });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    const text = (await scrape(appMetricsPort)).body;
    expect(app.stdout()).toContain('registered true');
    expect(sample(text, 'shop_orders_total')).toBe(3);
    expect(sample(text, 'process_memory_usage_bytes')).toBeGreaterThan(0);
    expect(app.stderr()).toBe('');
    await app.stop();
    app = undefined;
  });

  it('keeps its own global MeterProvider under --import @mon/register, and mon serves the HTTP metrics', async () => {
    app = await spawnApp(path.join(appDir, 'server.mjs'), { cwd: appDir, env: { APP_METRICS_PORT: String(appMetricsPort) } });
    for (let i = 0; i < 3; i++) await request(app.port, '/');
    const own = (await scrape(appMetricsPort)).body;
    const mon = (await scrape(app.metricsPort)).body;
    // The app's registration is not refused as a duplicate: its instruments reach its own readers.
    expect(app.stdout()).toContain('registered true');
    expect(sample(own, 'shop_orders_total')).toBe(3);
    expect(sample(own, 'http_server_requests_total')).toBeUndefined();
    expect(sumSamples(mon, 'http_server_requests_total')).toBe(3);
    expect(sample(mon, 'shop_orders_total')).toBeUndefined();
    expect(app.stderr()).toBe('');
    await app.stop();
    app = undefined;
  });
});
