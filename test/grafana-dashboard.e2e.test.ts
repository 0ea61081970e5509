// examples/grafana against the real thing: every panel's PromQL, with the template variables
// substituted as Grafana does, run through a real Prometheus scraping an example app under load.
// A panel that answers an error or no data fails the test: the dashboard is only worth shipping
// if it shows data on exactly the series mon produces.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesPath } from './alert-rules.js';
import { example, root, scrape, sleep, spawnApp, sumSamples, waitForEndpoint, type App } from './helpers.js';
import { startLoad } from './load.js';
import { promtoolBinary, skipWithout, startPrometheus, type Prometheus } from './prometheus.js';

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  definition?: string;
  query: unknown;
  allValue?: string;
  includeAll?: boolean;
  multi?: boolean;
}

const dir = path.join(root, 'examples', 'grafana');
const dashboard = JSON.parse(readFileSync(path.join(dir, 'dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
/** Series (in a name or a query) of the rows another test answers, against an app that has them. */
const elsewhere = /\b(?:container|rpc|db)_/;
const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
/** `label_values(selector, label)` of each query variable. */
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => {
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(v.definition ?? '');
    if (!m) throw new Error(`variable ${v.name}: not a label_values() query: ${v.definition}`);
    return { name: v.name, selector: m[1]!, label: m[2]! };
  });

// Grafana's Prometheus data source, for a multi-value or include-all variable inside =~"...":
// regex-escape each value (a backslash doubled again for the PromQL string), join as (a|b).
function regexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

function substitute(expr: string, values: Record<string, string>, rateInterval: string): string {
  const out = expr.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (name === '__rate_interval') return rateInterval;
    const value = values[name];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
  return out;
}

/** Variable values as Grafana substitutes them: chosen values regex-escaped, or the All value. */
function selection(chosen: Record<string, string> | 'all'): Record<string, string> {
  const values: Record<string, string> = {};
  for (const { name } of variableQueries) {
    const variable = variables.get(name)!;
    values[name] = chosen === 'all' ? variable.allValue! : regexEscape(chosen[name]!);
  }
  return values;
}

describe('the Grafana dashboard', () => {
  it('is well formed: unique ids, on the grid, every query on the data source variable', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, panel.title).toBe(true);
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.datasource.uid).toBe('${datasource}');
    }
    // No two panels overlap.
    const cells = new Set<string>();
    for (const { gridPos, title } of panels) {
      for (let dx = 0; dx < gridPos.w; dx++) {
        for (let dy = 0; dy < gridPos.h; dy++) {
          const cell = `${gridPos.x + dx},${gridPos.y + dy}`;
          expect(cells.has(cell), `${title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });

  it('has job, instance and service variables from target_info, usable by every query', () => {
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variableQueries.map((v) => [v.name, v.label])).toEqual([
      ['job', 'job'],
      ['instance', 'instance'],
      ['service', 'service_name'],
    ]);
    for (const v of variableQueries) {
      expect(v.selector).toMatch(/^target_info\b/);
      expect(variables.get(v.name)).toMatchObject({ includeAll: true, multi: true, allValue: '.*' });
    }
    for (const { panel, target } of queries) {
      for (const name of ['job', 'instance', 'service']) expect(target.expr, panel.title).toContain(`"$${name}"`);
      // Throws on any variable the dashboard does not define.
      substitute(target.expr, selection('all'), '1m');
    }
  });

  it('charts every figure the issue asks for, on the series mon serves', async () => {
    const used = new Set(queries.flatMap(({ target }) => target.expr.match(/\b[a-z][a-z0-9_]*(?=\{)/g) ?? []));
    for (const name of [
      'http_server_requests_total',
      'http_server_request_duration_seconds_bucket',
      'http_server_active_requests',
      'system_cpu_time_seconds_total',
      'process_cpu_time_seconds_total',
      'process_memory_usage_bytes',
      'system_memory_usage_bytes',
      'system_filesystem_utilization_ratio',
      'system_filesystem_usage_bytes',
      'nodejs_eventloop_delay_seconds_bucket',
      'nodejs_eventloop_delay_max_seconds',
      'nodejs_eventloop_time_seconds_total',
      'v8js_gc_duration_seconds_sum',
      'v8js_memory_heap_used_bytes',
      'http_client_request_duration_seconds_count',
      'http_client_request_duration_seconds_bucket',
      'http_client_active_requests',
    ]) {
      expect(used, name).toContain(name);
    }
    // And every series the dashboard reads is on the endpoint of an app that has served traffic
    // (this part needs no Prometheus).
    const app = await spawnApp(example('http-esm/server.mjs'));
    try {
      // It opens once the host metrics have started: all the load then falls after, so the GC
      // pauses it causes are observed.
      await waitForEndpoint(app.metricsPort);
      await startLoad(app.port, ['/', '/fail', '/slow?ms=5', '/checkout'], 1_500).done;
      const body = (await scrape(app.metricsPort)).body;
      const served = new Set(body.split('\n').filter((l) => !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0]));
      // A histogram's own name is its native series, for a Prometheus that stores native histograms.
      for (const [, name] of body.matchAll(/^# TYPE (\S+) histogram$/gm)) served.add(name);
      // container_*: only under a cgroup limit, which this app has not; test/container.e2e.test.ts
      // runs the Container row's queries against an app that has one. rpc_* and db_*: this app
      // makes no gRPC or database calls; test/grafana-rpc-db.e2e.test.ts runs those rows.
      for (const name of used) if (!elsewhere.test(name)) expect(served.has(name), `${name} is not on /metrics`).toBe(true);
    } finally {
      await app.stop();
    }
  });
});

// Twice: a Prometheus with classic histograms only, and one storing native histograms (protobuf
// scrapes), where the latency panels read the native series.
describe.skipIf(skipWithout('prometheus')).each([
  ['classic histograms', []],
  ['native histograms', ['--enable-feature=native-histograms']],
])('the Grafana dashboard on a real Prometheus (%s)', (kind, flags) => {
  let app: App | undefined;
  let prometheus: Prometheus | undefined;
  let statuses: Record<string, number> = {};
  /** Outgoing calls the app made: each /checkout calls the app's own /order. */
  let calls = 0;
  /** Unix seconds, one scrape after the last request. */
  let loadEnded = 0;

  beforeAll(async () => {
    app = await spawnApp(example('http-esm/server.mjs'));
    // With the example's alerting rules, as prometheus.yml loads them: the Alerts panel reads ALERTS.
    prometheus = await startPrometheus([`127.0.0.1:${app.metricsPort}`], '1s', { ruleFiles: [rulesPath], flags });
    await prometheus.waitForScrapes(1);
    // About 10 s of mixed traffic (fast, slow, 404, 500), so rates, percentiles, the error ratio
    // and GC pauses all have points over several 1 s scrapes.
    statuses = await startLoad(app.port, ['/', '/users/{n}', '/slow?ms=15', '/nope', '/', '/fail', '/order?pay=card', '/checkout'], 10_000).done;
    calls = sumSamples((await scrape(app.metricsPort)).body, 'http_client_request_duration_seconds_count');
    await sleep(1_200); // one more scrape after the last request
    loadEnded = Date.now() / 1000;
  }, 60_000);
  /**
   * The panels' range queries, evaluated as the load ends: evaluated later (promtool and other
   * tests run first on a loaded machine), a 5 s window may hold no scrape with traffic, and every
   * rate reads 0, every percentile NaN.
   */
  const atLoadEnd = (promql: string) => prometheus!.query(promql, loadEnded);

  afterAll(async () => {
    await prometheus?.stop();
    await app?.stop();
  });

  it('ships a prometheus.yml that Prometheus accepts, scraping mon on localhost:9464', () => {
    const text = readFileSync(path.join(dir, 'prometheus.yml'), 'utf8');
    expect(text).toMatch(/targets: \['localhost:9464'\]/);
    const check = spawnSync(promtoolBinary!, ['check', 'config', path.join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toContain('SUCCESS');
    expect(check.status).toBe(0);
  });

  it('answers every variable query and every panel query with data, for one target and for All', async () => {
    expect(statuses['500']).toBeGreaterThan(0);
    const [info] = await prometheus!.query('target_info');
    const chosen = { job: info!.metric.job!, instance: info!.metric.instance!, service: info!.metric.service_name! };
    expect(chosen.service).toBe('example-http-esm');

    for (const values of [selection(chosen), selection('all')]) {
      // The variables' own label_values() queries, as PromQL.
      for (const v of variableQueries) {
        const result = await atLoadEnd(`group by (${v.label}) (${substitute(v.selector, values, '5s')})`);
        expect(result.map((r) => r.metric[v.label]), v.name).toContain(chosen[v.name as keyof typeof chosen]);
      }
      // Grafana with a 1 s scrape interval makes $__rate_interval 4 s; 5 s leaves room for a late scrape.
      const answers = await Promise.all(
        // The Container row has data only under a cgroup limit (test/container.e2e.test.ts), the gRPC
        // and Databases rows only from an app making those calls (test/grafana-rpc-db.e2e.test.ts).
        queries.filter(({ target }) => !elsewhere.test(target.expr)).map(async ({ panel, target }) => {
          const expr = substitute(target.expr, values, '5s');
          try {
            // ALERTS holds what the rules decided, which may come after the load: read it now.
            const result = await (expr.includes('ALERTS') ? prometheus!.query(expr) : atLoadEnd(expr));
            const finite = result.filter((r) => Number.isFinite(Number(r.value[1])));
            return finite.length > 0 ? undefined : `${panel.title} [${target.refId}]: no data: ${expr}`;
          } catch (error) {
            return `${panel.title} [${target.refId}]: ${(error as Error).message}`;
          }
        }),
      );
      expect(answers.filter((a) => a !== undefined)).toEqual([]);
    }
    console.log(`grafana dashboard (${kind}): ${panels.filter((p) => p.type !== 'row').length} panels, ${queries.filter(({ target }) => !elsewhere.test(target.expr)).length} of their ${queries.length} queries here, each with data`);
  });

  it('reads latency and the event loop delay from the native series when Prometheus has them, from the buckets otherwise', async () => {
    const values = selection('all');
    const latency = queries.filter(({ target }) => /http_server_request_duration_seconds_bucket|nodejs_eventloop_delay_seconds_bucket/.test(target.expr));
    expect(latency.length).toBeGreaterThanOrEqual(7);
    for (const { panel, target } of latency) {
      // Each is `<native> or <classic>`: the native half answers exactly when native histograms are on.
      const nativeHalf = target.expr.slice(0, target.expr.lastIndexOf(' or histogram_quantile('));
      expect(nativeHalf, panel.title).not.toContain('_bucket');
      const result = await atLoadEnd(substitute(nativeHalf, values, '5s'));
      expect(result.length > 0, `${panel.title} [${target.refId}] native half`).toBe(kind === 'native histograms');
    }
  });

  it("evaluates the event loop alert's native half when Prometheus has native histograms, its classic half otherwise", async () => {
    // promtool (2.42 here) has no native series for its unit tests: the native half is checked here.
    const rules = readFileSync(rulesPath, 'utf8');
    const expr = /alert: NodejsEventLoopDelayHigh\n\s+expr: \|\n([\s\S]*?)\n\s+for:/.exec(rules)![1]!;
    const halves = [...expr.matchAll(/\(\n\s+(.*)\n\s+or\n\s+(.*)\n\s+\)/g)].map((m) => [m[1]!, m[2]!]);
    expect(halves).toHaveLength(2);
    for (const [nativeHalf, classicHalf] of halves) {
      expect(nativeHalf).not.toMatch(/_bucket|_seconds_count/);
      // The rule's 3 m windows reach back past this Prometheus' start: whatever it scraped counts.
      const [native, classic] = await Promise.all([atLoadEnd(nativeHalf!), atLoadEnd(classicHalf!)]);
      expect(native.length > 0, nativeHalf).toBe(kind === 'native histograms');
      expect(classic.length > 0, classicHalf).toBe(kind !== 'native histograms');
    }
  });

  it('shows the alerts the rules raise: one request in seven answering 500 has the fast error-budget burn pending', async () => {
    const alertsPanel = queries.find(({ panel }) => panel.title === 'Alerts pending and firing')!;
    expect(alertsPanel.panel.type).toBe('state-timeline');
    for (const values of [selection('all'), selection({ job: 'app', instance: `127.0.0.1:${app!.metricsPort}`, service: 'example-http-esm' })]) {
      const shown = await prometheus!.query(substitute(alertsPanel.target.expr, values, '5s'));
      const byName = Object.fromEntries(shown.map((r) => [r.metric.alertname, Number(r.value[1])]));
      // 1 is pending (its `for:` is 2 minutes; the load lasted 10 s), 2 would be firing.
      expect(byName.NodejsHTTPErrorBudgetFastBurn, JSON.stringify(byName)).toBe(1);
      expect(byName.NodejsEventLoopDelayHigh).toBeUndefined();
    }
    // The same alert, as Prometheus' own API lists it.
    const listed = (await prometheus!.alerts()).map((a) => `${a.labels.alertname}=${a.state}`);
    expect(listed).toContain('NodejsHTTPErrorBudgetFastBurn=pending');
    // Another service's name hides it.
    const other = await prometheus!.query(substitute(alertsPanel.target.expr, selection({ job: 'app', instance: `127.0.0.1:${app!.metricsPort}`, service: 'another-service' }), '5s'));
    expect(other).toEqual([]);
  });

  it('draws the figures the app really had: the status mix and the error ratio', async () => {
    const values = selection('all');
    const byStatus = queries.find(({ panel }) => panel.title === 'Requests by status')!.target.expr;
    const rates = await atLoadEnd(substitute(byStatus, values, '10s'));
    const perSecond: Record<string, number> = Object.fromEntries(rates.map((r) => [r.metric.http_response_status_code, Number(r.value[1])]));
    // The app also served the /order of each of its own outgoing calls (all 200).
    expect(calls).toBeGreaterThan(0);
    const served: Record<string, number> = { ...statuses, '200': (statuses['200'] ?? 0) + calls };
    const sent = Object.values(served).reduce((a, b) => a + b, 0);
    const drawn = Object.values(perSecond).reduce((a, b) => a + b, 0);
    // Shares, not absolute rates: those depend on where the window falls on the load.
    expect(Object.keys(perSecond).sort()).toEqual(Object.keys(served).sort());
    for (const [status, count] of Object.entries(served)) {
      expect(Math.abs(perSecond[status]! / drawn - count / sent), status).toBeLessThan(0.03);
    }
    const ratio = queries.find(({ panel }) => panel.title === 'Error ratio')!.target.expr;
    const [errors] = await atLoadEnd(substitute(ratio, values, '10s'));
    expect(Math.abs(Number(errors!.value[1]) - statuses['500']! / sent)).toBeLessThan(0.03);
  });

  it('draws the outgoing calls the app made: one host, itself, none failed, none left in flight', async () => {
    const values = selection('all');
    const expr = (title: string): string => substitute(queries.find(({ panel }) => panel.title === title)!.target.expr, values, '10s');
    const rates = await atLoadEnd(expr('Outgoing call rate by host'));
    expect(rates.map((r) => `${r.metric.server_address}:${r.metric.server_port}`)).toEqual([`127.0.0.1:${app!.port}`]);
    // Calls were an eighth of the load, the /order they made one more request each: a ninth of what the app served.
    const served = await atLoadEnd(`sum(rate(http_server_requests_total[10s]))`);
    expect(Math.abs(Number(rates[0]!.value[1]) / Number(served[0]!.value[1]) - 1 / 9)).toBeLessThan(0.03);
    const [failures] = await atLoadEnd(expr('Outgoing call failure ratio by host'));
    expect(Number(failures!.value[1])).toBe(0);
    const [inFlight] = await atLoadEnd(expr('Outgoing calls in flight'));
    expect(Number(inFlight!.value[1])).toBe(0);
  });
});
