// node:cluster under churn: workers SIGKILLed while connection-per-request traffic runs. node:cluster
// defers a dead worker's 'disconnect' while a connection handle sent to it awaits its ack (forever,
// after a SIGKILL), so the primary must retire workers on 'exit' (cluster/primary.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { childPids, connectionPerRequestLoad, killWorkers } from './churn.js';
import { example, parseLabels, scrape, sleep, spawnApp, sumSamples, type App } from './helpers.js';
import { skipWithout, startPrometheus, type Prometheus } from './prometheus.js';

const server = example('cluster/server.mjs');
const WORKERS = 3;
const SLOTS = new Set(['primary', ...Array.from({ length: WORKERS }, (_, i) => String(i))]);

let app: App | undefined;
let prometheus: Prometheus | undefined;
afterEach(async () => {
  await prometheus?.stop();
  prometheus = undefined;
  await app?.stop();
  app = undefined;
});

function workerLabels(text: string): string[] {
  const labels = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^[^#{ ]+\{(.*)\} /.exec(line);
    const value = m ? parseLabels(m[1]!).nodejs_cluster_worker : undefined;
    if (value !== undefined) labels.add(value);
  }
  return [...labels].sort();
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** Waits (at most 10 s) until the primary has WORKERS children again and a scrape shows each of their slots. */
async function settle(metricsPort: number, primaryPid: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = (await scrape(metricsPort)).body;
    const labels = workerLabels(text);
    if (childPids(primaryPid).length === WORKERS && [...SLOTS].every((slot) => labels.includes(slot))) return text;
    if (Date.now() > deadline) return text;
    await sleep(100);
  }
}

describe('workers SIGKILLed under connection-per-request load', () => {
  it('are retired on exit: slots stay within the live workers, scrapes never wait for the dead, totals never go backwards', async () => {
    app = await spawnApp(server, { env: { WORKERS: String(WORKERS) } });
    const primaryPid = app.child.pid!;
    const load = connectionPerRequestLoad(app.port);
    const durations: number[] = [];
    const seen: string[][] = [];
    let last = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        const started = performance.now();
        const text = (await scrape(app!.metricsPort)).body;
        durations.push(performance.now() - started);
        seen.push(workerLabels(text));
        const total = sumSamples(text, 'http_server_requests_total');
        expect(total).toBeGreaterThanOrEqual(last);
        last = total;
        await sleep(100);
      }
    })();
    const kills = await killWorkers(primaryPid, 10, 1_000);
    await load.stop();
    scraping = false;
    await scraper;
    const text = await settle(app.metricsPort, primaryPid);
    const counted = sumSamples(text, 'http_server_requests_total');
    const lossPerKill = (load.ok() - counted) / kills;
    console.log(
      `churn: ${kills} kills, ${load.ok()} ok / ${load.failed()} failed requests, ${counted} counted, loss per kill ${lossPerKill.toFixed(1)} requests; ` +
        `${durations.length} scrapes, p50 ${percentile(durations, 50).toFixed(1)} ms, p99 ${percentile(durations, 99).toFixed(1)} ms, max ${Math.max(...durations).toFixed(1)} ms`,
    );
    expect(kills).toBeGreaterThanOrEqual(8);
    // Every scrape: worker slots within the live workers (+ the primary), whatever died.
    for (const labels of seen) for (const label of labels) expect(SLOTS.has(label), `slot ${label} in ${labels.join(',')}`).toBe(true);
    expect(workerLabels(text)).toEqual([...SLOTS].sort());
    // A scrape that waited for a dead worker takes the full 1 s collect timeout; with a scrape
    // every 100 ms, several of 10 kills land in one. One such scrape is left to a loaded machine
    // (seen: 1.14 s once at a load average of 16 on 2 cores; p99 was 0.2-0.6 s otherwise).
    expect(durations.filter((d) => d >= 1_000).length).toBeLessThanOrEqual(1);
    // What a kill loses: the dead worker's requests since its last push (at most 1 s of one worker).
    expect(counted).toBeLessThanOrEqual(load.ok() + kills);
    expect(counted).toBeGreaterThan(load.ok() * 0.8);
  });
});

describe('a real Prometheus scraping a cluster under churn', () => {
  it('sees no counter reset, never up == 0, and bounded worker slots', async () => {
    if (skipWithout('prometheus')) return;
    app = await spawnApp(server, { env: { WORKERS: String(WORKERS) } });
    const primaryPid = app.child.pid!;
    // Scrapes every 2 s, timeout the same: above the primary's 1 s wait for a dead worker, as any
    // real setup is (default timeout 10 s). At 1 s the two were equal and a loaded machine's
    // 1.0x s answer counted as a failed scrape.
    prometheus = await startPrometheus([`127.0.0.1:${app.metricsPort}`], '2s');
    await prometheus.waitForScrapes(2);
    const load = connectionPerRequestLoad(app.port);
    const kills = await killWorkers(primaryPid, 15, 1_000);
    await load.stop();
    await settle(app.metricsPort, primaryPid);
    await sleep(4_000); // two more scrapes after the last kill
    const window = '[5m]';
    const one = async (promql: string): Promise<number> => Number((await prometheus!.query(promql))[0]?.value[1] ?? NaN);
    const resets = await prometheus.query(`resets(http_server_requests_total${window}) > 0 or resets(http_server_request_duration_seconds_count${window}) > 0 or resets(process_cpu_time_seconds_total${window}) > 0`);
    const minUp = await one(`min_over_time(up${window})`);
    const scrapes = await one(`count_over_time(up${window})`);
    const slots = await prometheus.query(`count by (nodejs_cluster_worker) (count_over_time(process_uptime_seconds${window}))`);
    const p99 = await one(`quantile_over_time(0.99, scrape_duration_seconds${window})`);
    const maxDuration = await one(`max_over_time(scrape_duration_seconds${window})`);
    const primaryRss = `process_memory_usage_bytes{nodejs_cluster_worker="primary"}${window}`;
    const rssMb = [await one(`min_over_time(${primaryRss})`), await one(`max_over_time(${primaryRss})`)].map((b) => (b / 2 ** 20).toFixed(1));
    const served = await one('sum(http_server_requests_total)');
    console.log(
      `prometheus churn: ${kills} kills, ${scrapes} scrapes, min(up) ${minUp}, scrape p99 ${(p99 * 1000).toFixed(1)} ms, max ${(maxDuration * 1000).toFixed(1)} ms, ` +
        `slots ${slots.map((s) => s.metric.nodejs_cluster_worker).sort().join(',')}, primary RSS min/max ${rssMb.join('/')} MB, ${served} counted of ${load.ok()} ok`,
    );
    expect(kills).toBeGreaterThanOrEqual(12);
    expect(resets).toEqual([]);
    // A scrape that waited for a dead worker still answers inside the timeout: never up == 0.
    expect(minUp).toBe(1);
    expect(new Set(slots.map((s) => s.metric.nodejs_cluster_worker))).toEqual(SLOTS);
  });
});
