// A scrape flood against the app it runs in (issue 18): the hello app under `--import
// @mon/register` (default settings, no auth) gets a steady trickle of its own requests, GET / at
// --rate a second on one keep-alive connection, timed by this process, while wrk floods its
// /metrics from 20 keep-alive connections paced to --scrapes a second in all (lib/pace.lua). The
// same trickle without the flood is the baseline; phases alternate, --rounds times.
// Prints the app's p50 / p99 / max latency in each phase, and the scrapes answered per second.
//
//   npm run build && node test/bench/scrape-flood.mjs [--seconds 5] [--rounds 2] [--scrapes 1000] [--rate 200]
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, freePort, spawnNode, stop, waitListening } from './lib/process.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const seconds = arg('seconds', 5);
const rounds = arg('rounds', 2);
const scrapesPerSecond = arg('scrapes', 1000);
const rate = arg('rate', 200);
const CONNECTIONS = 20;

/** GET / every 1000/rate ms for `ms`; the latency of each, in ms (sent to last byte). */
async function trickle(port, ms) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  const until = performance.now() + ms;
  const gap = 1000 / rate;
  let next = performance.now();
  while (performance.now() < until) {
    const t0 = performance.now();
    await new Promise((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', resolve);
    });
    latencies.push(performance.now() - t0);
    // Paced from the schedule, not from the answer: a slow answer is not followed by a pause.
    next += gap;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  agent.destroy();
  return latencies.sort((a, b) => a - b);
}

function flood(url, ms) {
  const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${Math.ceil(ms / 1000)}s`, '-s', path.join(here, 'lib', 'pace.lua'), url], {
    env: { ...process.env, WRK_DELAY_MS: String((CONNECTIONS * 1000) / scrapesPerSecond) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  return new Promise((resolve) => child.once('close', () => resolve(Number(/^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1]))));
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const port = await freePort();
const metricsPort = await freePort();
const app = spawnNode(['--import', '@mon/register', path.join(here, 'servers', 'hello.mjs')], {
  cwd: root,
  env: cleanEnv({ PORT: String(port), OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort) }),
});
await waitListening(app);
await trickle(port, 1000); // warm-up
console.log(`| round | phase | app p50 ms | app p99 ms | app max ms | scrapes/s answered |`);
console.log('|---|---|---|---|---|---|');
for (let round = 1; round <= rounds; round++) {
  const quiet = await trickle(port, seconds * 1000);
  console.log(`| ${round} | no flood | ${pct(quiet, 50).toFixed(2)} | ${pct(quiet, 99).toFixed(2)} | ${quiet.at(-1).toFixed(2)} | |`);
  const flooding = flood(`http://127.0.0.1:${metricsPort}/metrics`, seconds * 1000);
  await new Promise((r) => setTimeout(r, 300)); // let wrk connect
  const loud = await trickle(port, seconds * 1000 - 600);
  const answered = await flooding;
  console.log(`| ${round} | ${scrapesPerSecond} scrapes/s asked | ${pct(loud, 50).toFixed(2)} | ${pct(loud, 99).toFixed(2)} | ${loud.at(-1).toFixed(2)} | ${answered} |`);
}
await stop(app);
