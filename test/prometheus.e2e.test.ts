// The real peer: promtool lints what we serve, and a real Prometheus scrapes it and answers PromQL.
import { afterEach, describe, expect, it } from 'vitest';
import { example, fixture, request, scrape, sleep, spawnApp, type App } from './helpers.js';
import { promtoolCheck, skipWithout, startPrometheus, type Prometheus } from './prometheus.js';

let app: App | undefined;
let prometheus: Prometheus | undefined;
afterEach(async () => {
  await prometheus?.stop();
  await app?.stop();
  prometheus = undefined;
  app = undefined;
});

describe.skipIf(skipWithout('promtool'))('promtool check metrics', () => {
  it('passes on the endpoint output after mixed traffic', async () => {
    app = await spawnApp(example('express/server.cjs'));
    for (const path of ['/', '/fail', '/nope', '/api/users/7', '/throw']) await request(app.port, path);
    const { body } = await scrape(app.metricsPort);
    expect(body).toContain('http_server_requests_total');
    const check = promtoolCheck(body);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('passes with hostile label values and help text from custom metrics', async () => {
    app = await spawnApp(fixture('hostile-metrics.mjs'));
    const { body } = await scrape(app.metricsPort);
    expect(body).toContain('hostile_events_total{');
    expect(body).toContain('odd_value="quote \\" here"');
    expect(body).toContain('odd_value="new\\nline"');
    expect(body).toContain('odd_value="back\\\\slash"');
    const check = promtoolCheck(body);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });
});

describe.skipIf(skipWithout('prometheus'))('a real Prometheus scraping the app', () => {
  it('answers request-rate and latency PromQL with the expected data', async () => {
    app = await spawnApp(example('http-esm/server.mjs'));
    prometheus = await startPrometheus([`127.0.0.1:${app.metricsPort}`]);
    // Prometheus waits a while before its first scrape; traffic must come after it and spread over
    // several scrapes, so increase() and rate() have points that differ.
    await prometheus.waitForScrapes(1);
    const counts = { '200': 0, '404': 0, '500': 0 };
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      await request(app.port, '/');
      await request(app.port, '/nope');
      await request(app.port, '/fail');
      counts['200']++;
      counts['404']++;
      counts['500']++;
      await sleep(20);
    }
    await prometheus.waitForScrapes(4);

    // Poll until a scrape after the last request has landed (bounded), then compare exactly.
    const expected = { '200': counts['200'], '404': counts['404'], '500': counts['500'] };
    let byStatus: Record<string, number | undefined> = {};
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(250)) {
      const totals = await prometheus.query('sum by (http_response_status_code) (http_server_requests_total)');
      byStatus = Object.fromEntries(totals.map((r) => [r.metric.http_response_status_code!, Number(r.value[1])]));
      const got = byStatus;
      if (Object.keys(got).length === 3 && Object.entries(expected).every(([code, n]) => got[code] === n)) break;
    }
    expect(byStatus).toEqual(expected);

    const increase = await prometheus.query('sum by (http_response_status_code) (increase(http_server_requests_total[1m]))');
    expect(increase.map((r) => r.metric.http_response_status_code).sort()).toEqual(['200', '404', '500']);
    for (const r of increase) expect(Number(r.value[1])).toBeGreaterThan(0);

    const p95 = await prometheus.query(
      'histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket[1m])))',
    );
    expect(p95).toHaveLength(1);
    const seconds = Number(p95[0]!.value[1]);
    // A hello-world answer on loopback: a few ms at most (a loaded 2-core machine stretched it
    // past 5 ms), far under the 100 ms bucket a wrong unit or bucket layout would land in.
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(0.1);

    const up = await prometheus.query('up');
    expect(up.map((r) => r.value[1])).toEqual(['1']);
    const info = await prometheus.query('target_info');
    expect(info[0]!.metric.service_name).toBe('example-http-esm');
  });
});
