// The live page in a real browser: headless Chromium (Debian `chromium`, driven by
// playwright-core; never a downloaded browser) opens it beside /metrics of an example app under
// the preload, first before any request (the empty state), then while traffic flows. The
// screenshots stay in test-results/ for a person to look at.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { example, request, root, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';
import { startLoad } from './load.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = path.join(root, 'test-results');

function skipWithoutChromium(): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.MON_REQUIRE_CHROMIUM === '1') throw new Error(`MON_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  console.warn(`skipping: ${CHROMIUM} is missing (apt-get install -y chromium to run the live page in a browser)`);
  return true;
}

const CHARTS = ['requests', 'latency', 'errors', 'active', 'cpu', 'memory', 'loop-delay', 'loop-utilization'];

let app: App | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;

/** The page as a user opens it: `/` on the metrics port, served by the preload itself. */
function pageUrl(metricsPort: number): string {
  return `http://127.0.0.1:${metricsPort}/`;
}

/** The number of points each line of a chart has drawn. */
async function linePoints(page: Page, chart: string): Promise<number[]> {
  return page.$$eval(`#card-${chart} path.line`, (paths) => paths.map((p) => Number(p.getAttribute('data-points'))));
}

describe.skipIf(skipWithoutChromium())('the live page in headless Chromium', () => {
  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    userDataDir = mkdtempSync(path.join(tmpdir(), 'mon-chromium-'));
    [app, context] = await Promise.all([
      spawnApp(example('http-esm/server.mjs')),
      chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        // A laptop screen.
        viewport: { width: 1440, height: 900 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      }),
    ]);
  });

  afterAll(async () => {
    await context?.close();
    await app?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('shows a clear empty state before the first request, then charts every figure while traffic flows', async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      // CSP violations and failed loads are console errors.
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await scrape(app!.metricsPort); // the endpoint opens after the app's start-up; a scrape is not a request of the app's
    await page.goto(pageUrl(app!.metricsPort));

    // Before any request: the banner says so, the request charts wait, the host charts already draw.
    await page.waitForFunction(() => Number(document.querySelector('#card-cpu path.line')?.getAttribute('data-points')) >= 2, null, {
      timeout: 15_000,
    });
    expect(await page.textContent('#banner')).toContain('No HTTP requests yet');
    expect(await page.textContent('#service')).toBe('example-http-esm');
    for (const chart of ['requests', 'latency', 'errors', 'active']) {
      expect(await page.getAttribute(`#card-${chart}`, 'class')).toContain('is-empty');
      expect(await page.textContent(`#card-${chart} .empty`)).toBe('Waiting for the first request to the app…');
    }
    expect(await page.textContent('#host-list')).toContain('No outgoing HTTP calls yet');
    expect(await page.textContent('#db-list')).toContain('No database calls yet');
    await page.screenshot({ path: path.join(RESULTS, 'live-page-empty.png') });

    // Traffic: fast, slow, not found and failing requests; /checkout makes an outgoing call.
    const load = startLoad(app!.port, ['/', '/users/{n}', '/slow?ms=20', '/nope', '/', '/fail', '/order', '/slow?ms=5', '/checkout'], 9_000);
    await page.waitForFunction(
      (charts) =>
        charts.every((chart) => {
          const card = document.getElementById(`card-${chart}`);
          const first = card?.querySelector('path.line');
          return card !== null && !card.classList.contains('is-empty') && Number(first?.getAttribute('data-points')) >= 3;
        }),
      CHARTS,
      { timeout: 20_000 },
    );
    await page.screenshot({ path: path.join(RESULTS, 'live-page.png') });

    expect(await page.isHidden('#banner')).toBe(true);
    // Every line of every chart has data (the in-flight gauge may be 0, still a point).
    for (const chart of CHARTS) {
      const points = await linePoints(page, chart);
      expect(points.length, chart).toBeGreaterThan(0);
      for (const count of points) expect(count, `${chart}: ${points.join(',')}`).toBeGreaterThanOrEqual(2);
    }
    const requests = await page.$eval('#card-requests path.s1', (p) => p.getAttribute('d') ?? '');
    // A drawn line: a move then line segments.
    expect(requests).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){2,}/);
    const legend = await page.textContent('#card-latency .legend');
    expect(legend).toMatch(/p50 [\d.]+ (µs|ms)/);
    expect(legend).toMatch(/p99 [\d.]+ ms/);
    expect(await page.textContent('#card-errors .legend')).toMatch(/5xx & aborted [\d.]+%/);
    const disks = await page.$$eval('.disk .fill', (fills) => fills.map((f) => (f as HTMLElement).style.width));
    expect(disks.length).toBeGreaterThan(0);
    for (const width of disks) expect(parseFloat(width)).toBeGreaterThan(0);
    expect(await page.textContent('#live')).toContain('live');
    // The example app is plain node:http: one row, for requests without a route.
    const routes = await page.$$eval('#route-list tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    expect(routes.length).toBeGreaterThan(0);
    expect(routes[0]![1]).toMatch(/^[\d.]+\/s$/);
    expect(routes[0]![2]).toMatch(/ (µs|ms)$/);
    // The outgoing calls of /checkout, by the host they went to (the app itself).
    await page.waitForFunction(() => document.querySelectorAll('#host-list tbody tr').length > 0, null, { timeout: 10_000 });
    const hosts = await page.$$eval('#host-list tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    expect(hosts).toHaveLength(1);
    expect(hosts[0]![0]).toBe(`127.0.0.1:${app!.port}`);
    expect(hosts[0]![1]).toMatch(/^[\d.]+\/s$/);
    expect(hosts[0]![2]).toMatch(/ (µs|ms)$/);
    expect(hosts[0]![3]).toBe('0%');

    // The page's own parse of /metrics agrees with the app: after the load, the request count in
    // the header is the counter's value.
    const sent = Object.values(await load.done).reduce((a, b) => a + b, 0);
    const text = (await scrape(app!.metricsPort)).body;
    // Each /checkout also sent the app one request of its own (its outgoing call).
    const calls = sumSamples(text, 'http_client_request_duration_seconds_count');
    expect(calls).toBeGreaterThan(0);
    const counted = sumSamples(text, 'http_server_requests_total');
    expect(counted).toBe(sent + calls);
    await page.waitForFunction((n) => document.getElementById('facts')?.textContent?.includes(`${n} requests`), counted.toLocaleString('en-US'), {
      timeout: 10_000,
    });

    expect(problems).toEqual([]);
  });

  it('opened after the traffic, shows the recent past the process kept, from its first fetch', async () => {
    const later = await spawnApp(example('http-esm/server.mjs'));
    try {
      // Traffic while the page is closed, until the history has a rate: requests between two of its
      // samples. (Fetching the history counts as looking: from the first fetch it samples every
      // 10 s, HISTORY_STEP_MS, instead of every 60 s.)
      const history = async () => JSON.parse((await request(later.metricsPort, '/live/history')).body) as { points: Array<Record<string, number>> };
      const deadline = Date.now() + 45_000;
      let sent = 0;
      while (!(await history()).points.some((p) => p.requestRate! > 0 && p.serverErrorRate! > 0)) {
        if (Date.now() > deadline) throw new Error(`no request rate in the history: ${JSON.stringify(await history())}`);
        for (const path of ['/', '/nope', '/fail']) await request(later.port, path);
        sent += 3;
        await sleep(50);
      }
      expect(sent).toBeGreaterThan(0);

      const page = await context!.newPage();
      const kept = page.waitForResponse((response) => response.url().endsWith('/live/history'));
      await page.goto(pageUrl(later.metricsPort));
      const first = (await (await kept).json()) as { points: Array<Record<string, number>> };
      expect(first.points.length).toBeGreaterThanOrEqual(2);
      for (const point of first.points) expect(point.age).toBeGreaterThanOrEqual(0);
      expect(first.points.some((p) => p.requestRate! > 0 && p.serverErrorRate! > 0)).toBe(true);
      // At the first poll's render the request chart already has the history's rates: a page with
      // none would have no rate yet (a rate needs two polls, 2 s apart).
      await page.waitForFunction(() => document.getElementById('live')?.textContent?.startsWith('live'), null, { timeout: 10_000 });
      const [rates] = await linePoints(page, 'requests');
      expect(rates).toBeGreaterThanOrEqual(1);
      expect(await page.getAttribute('#card-requests', 'class')).not.toContain('is-empty');
      await page.screenshot({ path: path.join(RESULTS, 'live-page-history.png') });
      await page.close();
    } finally {
      await later.stop();
    }
  });

  it('is not served with MON_UI=off; /metrics still is', async () => {
    const off = await spawnApp(example('http-esm/server.mjs'), { env: { MON_UI: 'off' } });
    try {
      expect((await request(off.metricsPort, '/')).status).toBe(404);
      expect((await request(off.metricsPort, '/live/history')).status).toBe(404);
      expect((await scrape(off.metricsPort)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
