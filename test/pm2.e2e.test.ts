// pm2's cluster mode, with the real pm2: its daemon is the node:cluster primary and runs no mon, so
// each instance serves its own metrics on the base port plus its instance number, and a restarted
// instance carries on from its predecessor's totals (cluster/carry-over.ts). pm2 runs with a
// private PM2_HOME and is always killed at the end: no daemon is left behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionPerRequestLoad } from './churn.js';
import { fixture, freePort, request, root, sample, scrape, sleep, sumSamples } from './helpers.js';
import { skipWithout, startPrometheus, type Prometheus } from './prometheus.js';

const INSTANCES = 3;
const pm2Cli = path.join(root, 'node_modules', 'pm2', 'bin', 'pm2');

interface Pm2 {
  home: string;
  port: number;
  /** Metrics ports: base + instance. */
  metricsPorts: number[];
  kill: () => void;
}

let pm2: Pm2 | undefined;
let prometheus: Prometheus | undefined;
afterEach(async () => {
  await prometheus?.stop();
  prometheus = undefined;
  pm2?.kill();
  pm2 = undefined;
});

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with the next INSTANCES - 1 ports free too. */
async function freePortRange(): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base + INSTANCES > 65535) continue;
    const free = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

function cli(home: string, args: string[], env: Record<string, string> = {}): string {
  const result = spawnSync(process.execPath, [pm2Cli, ...args], {
    cwd: root,
    env: { ...process.env, PM2_HOME: home, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`pm2 ${args.join(' ')}: ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * `pm2 start` of the fixture in cluster mode, with mon in the workers' node args, or in
 * NODE_OPTIONS (which pm2's CLI and daemon then inherit too).
 */
async function startPm2(how: 'node-args' | 'NODE_OPTIONS' = 'node-args', instances = INSTANCES): Promise<Pm2> {
  const home = mkdtempSync(path.join(tmpdir(), 'mon-pm2-'));
  const port = await freePort();
  const base = await freePortRange();
  const kill = (): void => {
    const pidFile = path.join(home, 'pm2.pid');
    const daemon = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
    try {
      cli(home, ['kill']);
    } finally {
      // `pm2 kill` waits for its daemon; make sure, without leaving it to chance.
      if (daemon !== undefined && isAlive(daemon)) process.kill(daemon, 'SIGKILL');
      rmSync(home, { recursive: true, force: true });
    }
  };
  try {
    const args = ['start', fixture('pm2-server.mjs'), '--name', 'shop', '-i', String(instances)];
    cli(home, how === 'node-args' ? [...args, '--node-args=--import @mon/register'] : args, {
      PORT: String(port),
      OTEL_EXPORTER_PROMETHEUS_PORT: String(base),
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      ...(how === 'NODE_OPTIONS' ? { NODE_OPTIONS: '--import @mon/register' } : {}),
    });
  } catch (error) {
    kill();
    throw error;
  }
  return { home, port, metricsPorts: Array.from({ length: instances }, (_, i) => base + i), kill };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The scrape of one instance, or undefined while nothing serves its port. */
async function tryScrape(port: number): Promise<string | undefined> {
  try {
    // No retry: a port nothing serves is what this looks for.
    const reply = await request(port, '/metrics', { retry: false });
    return reply.status === 200 ? reply.body : undefined;
  } catch {
    return undefined;
  }
}

async function waitForInstances(ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await Promise.all(ports.map(tryScrape))).some((text) => text === undefined)) {
    if (Date.now() > deadline) throw new Error('pm2 instances did not serve their metrics');
    await sleep(100);
  }
}

const pidOf = (text: string): number => Number(/process_pid="(\d+)"/.exec(text)?.[1]);

describe('pm2 cluster mode (mon in the workers only)', () => {
  it('serves every instance on its own port; a killed instance is back within a scrape and its counters carry on', async () => {
    pm2 = await startPm2();
    const ports = pm2.metricsPorts;
    await waitForInstances(ports);
    // The real-Prometheus half: skipped with a message without the binary (required in CI).
    if (!skipWithout('prometheus')) {
      prometheus = await startPrometheus(ports.map((p) => `127.0.0.1:${p}`), '2s');
      await prometheus.waitForScrapes(2);
    }
    const load = connectionPerRequestLoad(pm2.port);
    // Our own scrapes every 100 ms per instance: how long each port goes unserved, and whether a counter goes back.
    const last = ports.map(() => 0);
    const downSince: Array<number | undefined> = ports.map(() => undefined);
    const gaps: number[] = [];
    /** The replacement's uptime when it first answered: how much of a gap is the app's own start. */
    const boots: number[] = [];
    let backwards = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await Promise.all(
          ports.map(async (port, i) => {
            const text = await tryScrape(port);
            if (text === undefined) {
              downSince[i] ??= performance.now();
              return;
            }
            if (downSince[i] !== undefined) {
              gaps.push(performance.now() - downSince[i]!);
              boots.push(1000 * (sample(text, 'process_uptime_seconds') ?? NaN));
            }
            downSince[i] = undefined;
            const total = sumSamples(text, 'http_server_requests_total');
            if (total < last[i]!) backwards++;
            last[i] = total;
          }),
        );
        await sleep(100);
      }
    })();
    await sleep(1_000);
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      // From round 3 on, an instance killed 6 s ago: its replacement may still be starting.
      await waitForInstances([ports[round % INSTANCES]!]);
      const text = await tryScrape(ports[round % INSTANCES]!);
      if (text !== undefined) {
        process.kill(pidOf(text), 'SIGKILL');
        kills++;
      }
      await sleep(2_000);
    }
    await load.stop();
    await waitForInstances(ports);
    await sleep(1_500); // a push and a scrape after the last request
    watching = false;
    await watcher;

    const texts = (await Promise.all(ports.map(tryScrape))) as string[];
    const perInstance = texts.map((text) => sumSamples(text, 'http_server_requests_total'));
    const counted = perInstance.reduce((a, b) => a + b, 0);
    const lossPerKill = (load.ok() - counted) / kills;
    console.log(
      `pm2: ${kills} kills, ${load.ok()} ok / ${load.failed()} failed requests, ${counted} counted (${perInstance.join(' + ')}), loss per kill ${lossPerKill.toFixed(1)}; ` +
        `unserved after a kill: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms, of which the replacement's own start: ${boots.map((b) => b.toFixed(0)).join(', ')} ms`,
    );
    expect(kills).toBe(6);
    // Every instance's traffic is seen, on its own port.
    for (const n of perInstance) expect(n).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(load.ok() + kills);
    expect(counted).toBeGreaterThan(load.ok() * 0.8);
    expect(backwards).toBe(0);
    // pm2 restarts a killed instance at once, and its port is back as soon as the replacement has
    // started: what pm2 and mon add beyond the app's own start (0.4-2.8 s on a loaded 2-core
    // machine) was -0.1-0.5 s, 1.7 s at worst with 8 busy processes on 2 cores. Never the 5 s a
    // worker without a primary used to wait before serving.
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    gaps.forEach((gap, i) => expect(gap - boots[i]!).toBeLessThan(3_000));
    // Each instance keeps its own series: no worker label, its own process.
    for (const text of texts) expect(text).not.toContain('nodejs_cluster_worker');
    expect(new Set(texts.map(pidOf)).size).toBe(INSTANCES);
    expect(sample(texts[0]!, 'target_info', {})).toBe(1);

    if (prometheus) {
      const window = '[5m]';
      const resets = await prometheus.query(`resets(http_server_requests_total${window}) > 0 or resets(http_server_request_duration_seconds_count${window}) > 0`);
      const missed = Number((await prometheus.query(`sum(count_over_time(up${window}) - sum_over_time(up${window}))`))[0]?.value[1]);
      const p99 = Number((await prometheus.query(`max(quantile_over_time(0.99, scrape_duration_seconds${window}))`))[0]?.value[1]);
      const targets = await prometheus.query(`sum by (instance) (http_server_requests_total)`);
      console.log(`pm2 + prometheus: resets ${resets.length}, failed scrapes ${missed} (kills ${kills}), scrape p99 ${(p99 * 1000).toFixed(1)} ms, targets with traffic ${targets.length}`);
      expect(resets).toEqual([]);
      // One failed scrape per kill at this 2 s interval while the app starts within it; two when a
      // loaded machine takes longer (seen: 2.1 s). The 5 s wait of old cost 2-3 per kill.
      expect(missed).toBeLessThanOrEqual(2 * kills);
      expect(targets).toHaveLength(INSTANCES);
    }
  });

  it("from NODE_OPTIONS: pm2's own CLI and daemon stay out of it, and instance 0 serves the base port", async () => {
    pm2 = await startPm2('NODE_OPTIONS', 2);
    await waitForInstances(pm2.metricsPorts);
    const texts = (await Promise.all(pm2.metricsPorts.map(tryScrape))) as string[];
    // Both ports are the app's instances (not the daemon), each its own process.
    const daemon = Number(readFileSync(path.join(pm2.home, 'pm2.pid'), 'utf8'));
    const pids = texts.map(pidOf);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(daemon);
    for (const text of texts) expect(text).toMatch(/^http_server_requests_total|^process_uptime_seconds/m);
    // And nobody lost a race for a port: nothing from mon in pm2's log or the instances' stderr.
    const logs = [path.join(pm2.home, 'pm2.log'), ...readdirSync(path.join(pm2.home, 'logs')).map((f) => path.join(pm2.home, 'logs', f))];
    for (const log of logs) expect(readFileSync(log, 'utf8'), log).not.toContain('mon:');
  });
});
