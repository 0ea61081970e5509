// A real Prometheus server (Debian `prometheus` package) for end-to-end tests: started on a free
// loopback port with a temporary data dir, stopped after. Without the binary the tests skip with a
// message, unless MON_REQUIRE_PROMETHEUS=1 (CI sets it), where they fail instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, request, sleep } from './helpers.js';

function which(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).stdout.trim();
  return found || undefined;
}

export const prometheusBinary = which('prometheus');
export const promtoolBinary = which('promtool');
const required = process.env.MON_REQUIRE_PROMETHEUS === '1';

/**
 * Whether to skip tests that need `binary`. Logs why when skipping; throws when CI requires it.
 */
export function skipWithout(binary: 'prometheus' | 'promtool'): boolean {
  const found = binary === 'prometheus' ? prometheusBinary : promtoolBinary;
  if (found) return false;
  if (required) throw new Error(`MON_REQUIRE_PROMETHEUS=1 but \`${binary}\` is not on PATH (apt-get install -y prometheus)`);
  console.warn(`skipping: \`${binary}\` is not on PATH (apt-get install -y prometheus to run these tests)`);
  return true;
}

/** `promtool check metrics` on exposition text: its exit code and complaints. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync(promtoolBinary!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** An entry of /api/v1/alerts. */
export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface PrometheusOptions {
  /** Rule files to load, evaluated every scrape interval. */
  ruleFiles?: string[];
  /** Scrape jobs by name; default one job `app` with the `targets` argument. */
  jobs?: Record<string, string[]>;
  /** Extra command-line flags, e.g. `--enable-feature=native-histograms`. */
  flags?: string[];
}

export interface Prometheus {
  port: number;
  /** An instant query, evaluated now or at `at` (Unix seconds). */
  query: (promql: string, at?: number) => Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Pending and firing alerts (GET /api/v1/alerts). */
  alerts: () => Promise<ActiveAlert[]>;
  /** Waits until every target has been scraped successfully at least `scrapes` times. */
  waitForScrapes: (scrapes: number) => Promise<void>;
  stop: () => Promise<void>;
}

export async function startPrometheus(targets: string[], scrapeInterval = '1s', options: PrometheusOptions = {}): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mon-prometheus-'));
  const port = await freePort();
  const jobs = options.jobs ?? { app: targets };
  const config = `
global:
  scrape_interval: ${scrapeInterval}
  scrape_timeout: ${scrapeInterval}
  evaluation_interval: ${scrapeInterval}
rule_files: [${(options.ruleFiles ?? []).map((f) => JSON.stringify(f)).join(', ')}]
scrape_configs:
${Object.entries(jobs)
  .map(([job, jobTargets]) => `  - job_name: ${job}\n    static_configs:\n      - targets: [${jobTargets.map((t) => `'${t}'`).join(', ')}]\n`)
  .join('')}`;
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    prometheusBinary!,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(options.flags ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const api = async (p: string): Promise<any> => JSON.parse((await request(port, p)).body);

  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await request(port, '/-/ready')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not start:\n${log}`);
    await sleep(100);
  }

  return {
    port,
    query: async (promql, at) => {
      const reply = await api(`/api/v1/query?query=${encodeURIComponent(promql)}${at === undefined ? '' : `&time=${at}`}`);
      if (reply.status !== 'success') throw new Error(`${promql}: ${JSON.stringify(reply)}`);
      return reply.data.result;
    },
    alerts: async () => {
      const reply = await api('/api/v1/alerts');
      if (reply.status !== 'success') throw new Error(`/api/v1/alerts: ${JSON.stringify(reply)}`);
      return reply.data.alerts;
    },
    waitForScrapes: async (scrapes) => {
      const until = Date.now() + 30_000;
      for (;;) {
        const result = await api(`/api/v1/query?query=${encodeURIComponent('min(count_over_time(up[5m])) and min(up) == 1')}`);
        const count = Number(result.data?.result?.[0]?.value?.[1] ?? 0);
        if (count >= scrapes) return;
        if (Date.now() > until) {
          const targetsState = await api('/api/v1/targets');
          throw new Error(`prometheus scraped ${count} < ${scrapes} times: ${JSON.stringify(targetsState.data.activeTargets)}`);
        }
        await sleep(200);
      }
    },
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
