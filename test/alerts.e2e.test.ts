// examples/grafana/rules.yml on a real Prometheus scraping real apps under mon: one answering half
// its requests with 500, one whose event loop is blocked, one healthy. The rules are the real file
// with every time divided by 60 (test/alert-rules.ts: a minute becomes a second, Prometheus scrapes
// and evaluates every second), so what takes minutes in production takes seconds here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressTime, rulesPath } from './alert-rules.js';
import { example, sleep, spawnApp, type App } from './helpers.js';
import { startLoad, type Load } from './load.js';
import { skipWithout, startPrometheus, type ActiveAlert, type Prometheus } from './prometheus.js';

describe.skipIf(skipWithout('prometheus'))('the alerting rules on a real Prometheus', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mon-alerts-'));
  const apps: Record<'failing' | 'blocked' | 'healthy', App | undefined> = { failing: undefined, blocked: undefined, healthy: undefined };
  const loads: Load[] = [];
  let prometheus: Prometheus | undefined;
  /** Every alert the healthy app's job ever had, over the whole run. */
  const healthyAlerts: ActiveAlert[] = [];
  let seen: ActiveAlert[] = [];
  let waited = 0;

  const find = (job: string, alertname: string, states: string[]) =>
    seen.find((a) => a.labels.job === job && a.labels.alertname === alertname && states.includes(a.state));

  beforeAll(async () => {
    const rules = path.join(dir, 'rules.yml');
    writeFileSync(rules, compressTime(readFileSync(rulesPath, 'utf8'), 60));
    const [failing, blocked, healthy] = await Promise.all([
      spawnApp(example('http-esm/server.mjs')),
      spawnApp(example('http-esm/server.mjs')),
      spawnApp(example('http-esm/server.mjs')),
    ]);
    Object.assign(apps, { failing, blocked, healthy });
    prometheus = await startPrometheus([], '1s', {
      ruleFiles: [rules],
      jobs: {
        failing: [`127.0.0.1:${failing!.metricsPort}`],
        blocked: [`127.0.0.1:${blocked!.metricsPort}`],
        healthy: [`127.0.0.1:${healthy!.metricsPort}`],
      },
    });
    await prometheus.waitForScrapes(1);
    // Loads outlast the polling below; stopped in afterAll.
    loads.push(
      startLoad(failing!.port, ['/', '/fail'], 45_000, 1),
      // 150 ms of synchronous work every 500 ms: far more than 1 % of the loop's 10 ms samples wait
      // ~150 ms, so p99 reads ~150 ms, while each scrape still gets through (timeout 1 s) and the
      // app takes a third of a core, not all of it (the healthy app shares the CPU).
      startLoad(blocked!.port, ['/busy?ms=150', '/slow?ms=350'], 45_000, 1),
      startLoad(healthy!.port, ['/', '/users/{n}', '/slow?ms=5', '/order?pay=card'], 45_000, 1),
    );
    const started = Date.now();
    for (;;) {
      seen = await prometheus.alerts();
      healthyAlerts.push(...seen.filter((a) => a.labels.job === 'healthy'));
      const done =
        find('failing', 'NodejsHTTPErrorBudgetFastBurn', ['firing']) &&
        find('failing', 'NodejsHTTPErrorBudgetSlowBurn', ['pending', 'firing']) &&
        find('blocked', 'NodejsEventLoopDelayHigh', ['firing']);
      if (done || Date.now() - started > 30_000) break;
      await sleep(500);
    }
    waited = Date.now() - started;
    console.log(`alerts e2e: expected alerts after ${waited} ms: ${seen.map((a) => `${a.labels.job}/${a.labels.alertname}=${a.state}`).join(', ')}`);
  }, 60_000);

  afterAll(async () => {
    for (const load of loads) load.stop();
    await Promise.all(loads.map((l) => l.done));
    await prometheus?.stop();
    await Promise.all(Object.values(apps).map((app) => app?.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages for the error budget when half the requests answer 500: the fast burn fires, the slow one is on its way', () => {
    const fast = find('failing', 'NodejsHTTPErrorBudgetFastBurn', ['firing']);
    expect(fast, JSON.stringify(seen)).toBeDefined();
    expect(fast!.labels).toEqual({ alertname: 'NodejsHTTPErrorBudgetFastBurn', job: 'failing', severity: 'page' });
    // $value is the long window's 5xx ratio: half, give or take where the windows cut the load.
    expect(Number(fast!.value)).toBeGreaterThan(0.4);
    expect(Number(fast!.value)).toBeLessThan(0.6);
    expect(fast!.annotations.summary).toMatch(/^failing: (4\d|5\d)(\.\d+)?% of HTTP requests answer 5xx over the last hour/);
    expect(fast!.annotations.description).toContain('http_server_requests_total');
    expect(find('failing', 'NodejsHTTPErrorBudgetSlowBurn', ['pending', 'firing'])).toBeDefined();
  });

  it('warns when the event loop is blocked: p99 delay above 100 ms at every scrape', () => {
    const loop = find('blocked', 'NodejsEventLoopDelayHigh', ['firing']);
    expect(loop, JSON.stringify(seen)).toBeDefined();
    expect(loop!.labels).toMatchObject({ alertname: 'NodejsEventLoopDelayHigh', job: 'blocked', severity: 'warning' });
    // The lowest p99 over the window: about the 150 ms each /busy request holds the loop.
    expect(Number(loop!.value)).toBeGreaterThan(0.1);
    expect(Number(loop!.value)).toBeLessThan(0.5);
  });

  it('raises nothing for the healthy app, at any time during the run', async () => {
    expect(waited).toBeGreaterThan(0);
    expect(healthyAlerts.map((a) => `${a.labels.alertname}=${a.state}`)).toEqual([]);
    // It was really scraped and evaluated all along: its recorded request rate is there.
    const [rate] = await prometheus!.query('job:http_server_requests_5xx:ratio_rate5m{job="healthy"}');
    expect(Number(rate!.value[1])).toBe(0);
  });
});
