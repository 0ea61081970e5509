// The pm2 carry-over file is input like any other (issue 24, findings 1 and 2): a file edited by
// hand or by another local user, a FIFO, a huge file or a planted symlink must never stop the app or
// its endpoint, nor have mon write anywhere but its own private file. The app runs under the
// variables pm2 gives its instances (pm_id, NODE_APP_INSTANCE, created_at, PM2_HOME), without pm2:
// with no IPC channel it serves its own metrics and carries its totals over as a pm2 instance does
// (config.ts pm2Instance, exporters.ts); test/pm2.e2e.test.ts runs the real pm2.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixture, sample, scrape, sleep, spawnApp, waitForStderr, type App, type SpawnOptions } from './helpers.js';

const GENERATION = '1765000000000';

let app: App | undefined;
const homes: string[] = [];
afterEach(async () => {
  await app?.stop();
  app = undefined;
});
afterAll(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A fresh PM2_HOME; the carry-over file is <home>/mon/0.json. */
function newHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'mon-carry-e2e-'));
  homes.push(home);
  return home;
}
const carryFile = (home: string): string => path.join(home, 'mon', '0.json');

function startInstance(home: string, onSpawn?: SpawnOptions['onSpawn']): Promise<App> {
  return spawnApp(fixture('plain-server.mjs'), {
    env: { PM2_HOME: home, pm_id: '0', NODE_APP_INSTANCE: '0', created_at: GENERATION },
    ...(onSpawn === undefined ? {} : { onSpawn }),
  });
}

/** Rejects after `ms`: an app that froze fails the test instead of hanging it. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/**
 * Scrapes until http_server_requests_total shows `requests`, never more (counters from zero). A
 * scrape whose totals are not on disk within 50 ms shows the totals last written instead
 * (carry-over.ts), so on a loaded machine the first scrapes may show fewer. The last text.
 */
async function requestsServed(target: App, requests: number): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = (await within(15_000, 'the endpoint', scrape(target.metricsPort))).body;
    const served = sample(text, 'http_server_requests_total') ?? 0;
    expect(served, 'requests served').toBeLessThanOrEqual(requests);
    if (served === requests || Date.now() > deadline) {
      expect(served, 'requests served').toBe(requests);
      return text;
    }
    await sleep(100);
  }
}

/** Waits until `home`'s carry-over file is a regular file of this generation (written at most a second apart). */
async function written(home: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if (lstatSync(carryFile(home)).isFile() && JSON.parse(readFileSync(carryFile(home), 'utf8')).generation === GENERATION) return;
    } catch {
      // Not there yet, or another kind of file (set aside at start).
    }
    if (Date.now() > deadline) throw new Error(`${carryFile(home)} was never written`);
    await sleep(100);
  }
}

const carryWarnings = (target: App): string[] => target.stderr().split('\n').filter((l) => l.includes('[MON_PM2_CARRY_OVER]'));

/** A real carry-over file: an instance that served 3 requests and was scraped. Its text. */
let realFile: string;
beforeAll(async () => {
  const home = newHome();
  const first = await startInstance(home);
  try {
    for (let i = 0; i < 3; i++) await get(first.port, '/');
    await requestsServed(first, 3);
    await written(home);
  } finally {
    await first.stop();
  }
  realFile = readFileSync(carryFile(home), 'utf8');
}, 60_000);

interface WireMetric {
  descriptor?: { name: string };
  points: Array<{ value: unknown }>;
}
/** The real file with its totals changed by `edit`. */
function edited(edit: (metrics: WireMetric[]) => void): string {
  const file = JSON.parse(realFile) as { generation: string; totals: string };
  const scopes = JSON.parse(file.totals) as Array<{ metrics: WireMetric[] }>;
  edit(scopes.flatMap((s) => s.metrics));
  return JSON.stringify({ ...file, totals: JSON.stringify(scopes) });
}
const metric = (metrics: WireMetric[], name: string): WireMetric => metrics.find((m) => m.descriptor?.name === name)!;

/** A file of `series` counter points, one attribute each (the probe's 200 000 made 37 MB). */
function manySeries(series: number): string {
  const points = Array.from({ length: series }, (_, i) => ({ startTime: [1, 0], attributes: { 'http.route': `/a-route-of-some-length/${i}`, 'http.request.method': 'GET', 'url.scheme': 'http' }, value: 1 }));
  const metrics = [{ descriptor: { name: 'app.things', description: '', unit: '', valueType: 1 }, dataPointType: 3, aggregationTemporality: 1, isMonotonic: true, points }];
  return JSON.stringify({ generation: GENERATION, totals: JSON.stringify([{ scope: { name: 'app' }, metrics }]) });
}

/**
 * The instance started on `home` whose file was unusable: it answers its own requests, its endpoint
 * serves counters from zero, one warning says the file was set aside, and the next write replaces it
 * with a good one.
 */
async function expectFreshStart(home: string): Promise<void> {
  for (let i = 0; i < 2; i++) expect(await within(5_000, 'the app', get(app!.port, '/'))).toBe(200);
  await requestsServed(app!, 2);
  // A later request is still answered: nothing froze after the first scrape either.
  expect(await within(5_000, 'the app after a scrape', get(app!.port, '/'))).toBe(200);
  const warnings = carryWarnings(app!);
  expect(warnings, app!.stderr()).toHaveLength(1);
  expect(warnings[0]).toContain('set aside');
  expect(existsSync(`${carryFile(home)}.bad`)).toBe(true);
  // Written again from this instance's own totals, as a regular file.
  await written(home);
}

describe('a carry-over file that is not what mon wrote', () => {
  it.each<[string, () => string]>([
    // The scale loop in combineSnapshots ran forever: the app stopped answering a second after its first request.
    [
      'an exponential scale that is not a number',
      () =>
        edited((metrics) => {
          // Far from where this run's durations land, so the loop has buckets to merge: it never could.
          const value = metric(metrics, 'http.server.request.duration').points[0]!.value as { exponential: { scale: unknown; offset: number } };
          value.exponential.scale = 'x';
          value.exponential.offset = -100_000;
        }),
    ],
    // Counters came out as -1e+308, +Inf, NaN, and a histogram count "35" (3 + "5").
    [
      'numbers that are negative, infinite, NaN or strings',
      () =>
        edited((metrics) => {
          metric(metrics, 'http.server.requests').points[0]!.value = -1e308;
          const duration = metric(metrics, 'http.server.request.duration').points[0]!.value as { count: unknown; sum: unknown };
          duration.count = '3';
          duration.sum = 'Infinity';
        }),
    ],
    // The exporter never started, and the file was never rewritten, so every restart repeated it.
    ['a missing descriptor', () => edited((metrics) => void delete metrics[0]!.descriptor)],
    ['not JSON', () => '{"generation": "1765000000000", "totals": "[{"'],
    // 200 000 series, 37 MB: start-up held past 5 s, then the app stopped answering at 2.5 GB.
    ['a 31 MB file of 200 000 series', () => manySeries(200_000)],
    ['more series than carried over (25 000, 3 MB)', () => manySeries(25_000)],
  ])('%s: set aside with one warning, the app and its endpoint unharmed, counters from zero', async (_what, content) => {
    const home = newHome();
    mkdirSync(path.join(home, 'mon'), { mode: 0o700 });
    writeFileSync(carryFile(home), content(), { mode: 0o600 });
    const started = Date.now();
    app = await startInstance(home);
    await expectFreshStart(home);
    console.log(`${_what}: serving ${Date.now() - started} ms after spawn`);
  }, 60_000);

  it('a FIFO at its path: the app starts (the preload waited for a writer forever)', async () => {
    const home = newHome();
    mkdirSync(path.join(home, 'mon'), { mode: 0o700 });
    expect(spawnSync('mkfifo', [carryFile(home)]).status).toBe(0);
    app = await startInstance(home);
    await expectFreshStart(home);
  }, 60_000);

  it('a symlink at its path is not followed: the file it points to is neither read nor written', async () => {
    const home = newHome();
    mkdirSync(path.join(home, 'mon'), { mode: 0o700 });
    const elsewhere = path.join(home, 'elsewhere.json');
    writeFileSync(elsewhere, realFile, { mode: 0o600 });
    symlinkSync(elsewhere, carryFile(home));
    app = await startInstance(home);
    await expectFreshStart(home);
    expect(readFileSync(elsewhere, 'utf8')).toBe(realFile);
  }, 60_000);
});

describe('writing the carry-over file', () => {
  it('creates the directory 0700 and the file 0600, and follows no symlink planted at the temporary name it once used', async () => {
    const home = newHome();
    mkdirSync(path.join(home, 'mon'), { mode: 0o700 });
    // Another user's file, which the old temporary name `0.json.<pid>.tmp` had overwritten with the totals.
    const victim = path.join(home, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    let planted: string | undefined;
    app = await startInstance(home, (child) => {
      planted = `${carryFile(home)}.${child.pid}.tmp`;
      symlinkSync(victim, planted);
    });
    await get(app.port, '/');
    await requestsServed(app, 1);
    await written(home);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(planted!).isSymbolicLink()).toBe(true);
    const file = lstatSync(carryFile(home));
    expect(file.isFile()).toBe(true);
    expect(file.mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(carryFile(home), 'utf8')).generation).toBe(GENERATION);
    // Temporary files have 16 random hex digits, and none is left behind once the writes are done.
    const entries = () => readdirSync(path.join(home, 'mon')).filter((name) => name !== '0.json' && name !== path.basename(planted!));
    for (const name of entries()) expect(name).toMatch(/^0\.json\.[0-9a-f]{16}\.tmp$/);
    const deadline = Date.now() + 10_000;
    while (entries().length > 0 && Date.now() < deadline) await sleep(100);
    expect(entries()).toEqual([]);
    expect(carryWarnings(app)).toEqual([]);
  }, 60_000);

  it('makes a missing directory 0700 (under a fresh PM2_HOME) and narrows an older one from 0755', async () => {
    for (const existing of [false, true]) {
      const home = newHome();
      if (existing) mkdirSync(path.join(home, 'mon'), { mode: 0o755 });
      chmodSync(home, 0o755);
      app = await startInstance(home);
      await get(app.port, '/');
      await requestsServed(app, 1);
      await written(home);
      expect(lstatSync(path.join(home, 'mon')).mode & 0o777, existing ? 'an existing 0755 directory' : 'a new one').toBe(0o700);
      expect(lstatSync(carryFile(home)).mode & 0o777).toBe(0o600);
      await app.stop();
      app = undefined;
    }
  }, 60_000);

  async function expectRefused(spoil: (dir: string) => void): Promise<void> {
    const home = newHome();
    const dir = path.join(home, 'mon');
    mkdirSync(dir, { mode: 0o700 });
    // What another user planted there: totals of 1000 requests.
    writeFileSync(carryFile(home), edited((metrics) => void (metric(metrics, 'http.server.requests').points[0]!.value = 1000)), { mode: 0o644 });
    const planted = readFileSync(carryFile(home), 'utf8');
    spoil(dir);
    app = await startInstance(home);
    expect(await within(5_000, 'the app', get(app.port, '/'))).toBe(200);
    await requestsServed(app, 1);
    await waitForStderr(app, /MON_PM2_CARRY_OVER/);
    const warnings = carryWarnings(app);
    expect(warnings, app.stderr()).toHaveLength(1);
    expect(warnings[0]).toMatch(/writable by other users|belongs to another user/);
    expect(readFileSync(carryFile(home), 'utf8')).toBe(planted);
    expect(readdirSync(dir)).toEqual(['0.json']);
  }

  it.each<[string, number]>([
    ['every user', 0o777],
    ['its group', 0o770],
  ])('a directory writable by %s: neither read nor written, one warning, the app unharmed', async (_who, mode) => {
    await expectRefused((dir) => chmodSync(dir, mode));
  }, 60_000);

  // Only root can give a directory to another user; the ownership check itself runs for everyone.
  it.skipIf(process.getuid?.() !== 0)('a directory owned by another user: neither read nor written, one warning', async () => {
    await expectRefused((dir) => chownSync(dir, 65534, 65534));
  }, 60_000);
});
