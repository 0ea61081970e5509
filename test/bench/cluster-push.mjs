// What a cluster's pushes cost (issue 16): between scrapes each worker pushes its pre-aggregated
// HTTP metrics to the primary over IPC. The app (servers/cluster-series.mjs) has 2 workers, each
// holding 20 or 2 000 HTTP server series (5 methods x status codes; 2 000 is where mon's HTTP server
// metrics stop adding series), and no scrape comes during a measurement. Three variants of the same
// app, each started once: bare (no preload), mon with 20 series per worker, mon with 2 000.
//
// Each round measures every variant (order rotated) in two phases of --seconds:
//   traffic   a trickle of RATE requests a second to each worker, cycling through its series, so its
//             metrics change before every push: the pushes run as often as mon lets them;
//   idle      no requests: the metrics do not change, so nothing is sent, but a worker still reads
//             them to find that out.
// CPU time is process.cpuUsage() of each process (the app prints it on request), not wall time; mon's
// cost is the difference to bare in the same round and phase (the trickle's own requests cost the
// same in both). CPU time, not wall time, and no retry when other processes are busy (the machine is
// shared): their load shows in the load average printed. Pushes are counted by the primary (servers/cluster-series.mjs). Per push: the
// difference over the pushes of the phase. After the rounds each mon variant is scraped once: the
// primary's http_server_requests_total must be every request sent, over the series sent.
//
// Every Node line runs in a process of its own under that line's binary (test/node-lines), as in
// lines.mjs; the report has one table per line.
//
//   npm run build && node test/bench/cluster-push.mjs [--quick] [--rounds 5] [--seconds 5] [--lines 20,24] [--save]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/options.mjs';
import { cleanEnv, freePort, get, stop, sumSamples, waitForLine } from './lib/process.mjs';
import { fixed, load, machine, median, progress, table } from './lib/report.mjs';
import { root } from './lib/variants.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const APP = path.join(here, 'servers', 'cluster-series.mjs');
const WORKERS = 2;
const RATE = 20;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const SECTION = '## Cluster pushes';

const VARIANTS = [
  { id: 'bare', name: 'bare', mon: false, series: 2000 },
  { id: 'mon-20', name: 'mon, 20 series per worker', mon: true, series: 20 },
  { id: 'mon-2000', name: 'mon, 2 000 series per worker', mon: true, series: 2000 },
];

/** The i-th of a variant's series: a method and a status code. */
const request = (i) => ({ method: METHODS[i % METHODS.length], status: 200 + Math.floor(i / METHODS.length) });

function send(agent, port, i) {
  const { method, status } = request(i);
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, method, path: `/${status}`, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject)
      .end();
  });
}

async function startVariant(variant) {
  const metricsPort = await freePort();
  const args = variant.mon ? ['--import', '@mon/register', APP] : [APP];
  // stdin a pipe (spawnNode's is ignored): the harness asks for the app's stats on it.
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: cleanEnv({ BENCH_WORKERS: String(WORKERS), OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort), OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => {});
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
  const proc = { child, exited, stdout: () => out, stderr: () => err };
  const [, json] = await waitForLine(proc, /^workers (.*)$/m, 0, 15_000);
  const workers = JSON.parse(json);
  const agents = workers.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const running = { variant, proc, workers, agents, sent: 0, next: workers.map(() => 0), metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  // Every series once in each worker, so each holds them all from the start.
  for (let w = 0; w < workers.length; w++) {
    for (let i = 0; i < variant.series; i++) await send(agents[w], workers[w].port, i);
    running.sent += variant.series;
  }
  return running;
}

/** CPU µs of the primary and each worker, and the pushes the primary received from each. */
async function stats(running) {
  const from = running.proc.stdout().length;
  running.proc.child.stdin.write('stats\n');
  const [, json] = await waitForLine(running.proc, /^stats (.*)$/m, from, 5_000);
  return JSON.parse(json);
}

/** RATE requests a second to each worker for `ms`, each the next of its series. */
async function trickle(running, ms) {
  const until = performance.now() + ms;
  const gap = 1000 / RATE;
  let next = performance.now();
  while (performance.now() < until) {
    await Promise.all(
      running.workers.map((worker, w) => {
        const i = running.next[w]++ % running.variant.series;
        running.sent++;
        return send(running.agents[w], worker.port, i);
      }),
    );
    next += gap;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

async function measurePhase(running, phase, ms) {
  const before = await stats(running);
  const t0 = performance.now();
  if (phase === 'traffic') await trickle(running, ms);
  else await sleep(ms);
  const after = await stats(running);
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = (a, b) => (b.user + b.system - a.user - a.system) / 1000;
  return {
    seconds,
    primaryMs: cpuMs(before.primary, after.primary),
    workerMs: after.workers.map((w, i) => cpuMs(before.workers[i], w)),
    pushes: after.pushes.map((p, i) => p - before.pushes[i]),
    bytes: after.bytes.map((b, i) => b - before.bytes[i]),
  };
}

/** The primary's /metrics counts every request sent, over the variant's series. */
async function check(running) {
  // Scraping asks every worker: the answer carries its newest HTTP metrics whatever the push interval.
  const { status, body } = await get(running.metricsUrl);
  if (status !== 200) throw new Error(`${running.metricsUrl} answered ${status}`);
  const total = sumSamples(body, 'http_server_requests_total');
  const series = body.split('\n').filter((line) => line.startsWith('http_server_requests_total{')).length;
  if (total !== running.sent || series !== running.variant.series) {
    throw new Error(`${running.variant.name}: the primary shows ${total} requests over ${series} series; sent ${running.sent} over ${running.variant.series}`);
  }
  return { total, series };
}

async function runLine(options) {
  const ms = options.seconds * 1000;
  const loadBefore = load();
  const running = [];
  try {
    for (const variant of VARIANTS) {
      progress(`cluster-push: starting ${variant.name}`);
      running.push(await startVariant(variant));
    }
    // The fill's pushes and the workers' start-up settle first.
    await sleep(3_000);
    const rounds = [];
    for (let round = 0; round < options.rounds; round++) {
      const result = {};
      for (let k = 0; k < running.length; k++) {
        const r = running[(k + round) % running.length];
        result[r.variant.id] = {};
        for (const phase of ['traffic', 'idle']) {
          result[r.variant.id][phase] = await measurePhase(r, phase, ms);
        }
      }
      rounds.push(result);
      const w = (id, phase) => fixed(median(result[id][phase].workerMs) / result[id][phase].seconds, 2);
      progress(
        `  round ${round + 1}: worker CPU ms/s, traffic ${VARIANTS.map((v) => `${v.id} ${w(v.id, 'traffic')}`).join(', ')}; ` +
          `idle ${VARIANTS.map((v) => `${v.id} ${w(v.id, 'idle')}`).join(', ')}`,
      );
    }
    const checks = {};
    for (const r of running) if (r.variant.mon) checks[r.variant.id] = await check(r);
    return { version: process.version, machine: machine(), loadBefore, loadAfter: load(), rounds, checks };
  } finally {
    for (const r of running) {
      for (const agent of r.agents) agent.destroy();
      await stop(r.proc);
    }
  }
}

/** "m (lo–hi)" of per-round values. */
function spread(values, digits) {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const m = fixed(median(finite), digits);
  return finite.length === 1 ? m : `${m} (${fixed(Math.min(...finite), digits)}–${fixed(Math.max(...finite), digits)})`;
}

/** The rows of one line's table: per mon variant and phase, per-round figures paired with bare's. */
function rowsOf(line) {
  const rows = [];
  for (const variant of VARIANTS.filter((v) => v.mon)) {
    for (const phase of ['traffic', 'idle']) {
      const per = (f) => line.rounds.map((round) => f(round[variant.id][phase], round.bare[phase]));
      const sum = (xs) => xs.reduce((a, b) => a + b, 0);
      // Per worker: the mean of the workers; a push is one worker's.
      const workerPerSecond = per((m, b) => (sum(m.workerMs) / m.seconds - sum(b.workerMs) / b.seconds) / WORKERS);
      const primaryPerSecond = per((m, b) => m.primaryMs / m.seconds - b.primaryMs / b.seconds);
      const pushesPerSecond = per((m) => sum(m.pushes) / WORKERS / m.seconds);
      // Idle, what a worker spends goes to reads that find nothing changed, not to pushes.
      const perPush = (ms, i, n) => (phase === 'traffic' && pushesPerSecond[i] > 0 ? ms / (pushesPerSecond[i] * n) : NaN);
      const workerPerPush = workerPerSecond.map((ms, i) => perPush(ms, i, 1));
      const primaryPerPush = primaryPerSecond.map((ms, i) => perPush(ms, i, WORKERS));
      const kib = per((m) => (sum(m.pushes) > 0 ? sum(m.bytes) / sum(m.pushes) / 1024 : NaN));
      rows.push([
        variant.name,
        phase,
        spread(pushesPerSecond, 1),
        spread(kib, 0),
        spread(workerPerSecond, 2),
        spread(workerPerPush, 2),
        spread(primaryPerSecond, 2),
        spread(primaryPerPush, 2),
      ]);
    }
  }
  return rows;
}

function report(lines, passOn) {
  const out = [
    SECTION,
    '',
    `\`node test/bench/cluster-push.mjs${passOn.length ? ` ${passOn.join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}. ` +
      `${lines[0].machine.replace(/^Node \S+, /, '')}. A node:cluster app with ${WORKERS} workers ` +
      '(`servers/cluster-series.mjs`), each holding 20 or 2 000 HTTP server series (method × status code), ' +
      `no scrapes while measuring. *traffic*: ${RATE} requests/s to each worker, cycling through its series, so its ` +
      'metrics change before every push; *idle*: no requests. CPU is `process.cpuUsage()` of each process ' +
      '(user + system), as the difference to the same app without mon in the same round and phase; per push: that ' +
      'difference over the pushes the primary received. *worker*: per worker (the mean of the two); *primary*: the ' +
      'one primary, receiving both workers\' pushes. Median (range) over rounds; 1 ms/s is 0.1 % of a core. ' +
      'The differences include what mon costs a process with no pushes at all (its own timers: the 20-series idle rows, ' +
      'where hardly anything is pushed), so per push is an upper bound; idle, a worker\'s CPU goes to reads that find ' +
      'nothing changed, and per push is left out.',
    '',
  ];
  for (const line of lines) {
    out.push(
      `Node ${line.version.slice(1)} (load average ${line.loadBefore} before, ${line.loadAfter} after; ` +
        `checked afterwards: the primary's http_server_requests_total is every request sent, over ${Object.values(line.checks)
          .map((c) => c.series)
          .join(' and ')} series):`,
      '',
      table(
        ['variant', 'phase', 'pushes/s per worker', 'KiB per push', 'worker CPU ms/s', 'worker CPU ms per push', 'primary CPU ms/s', 'primary CPU ms per push'],
        rowsOf(line),
        [, , 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  return out.join('\n');
}

const args = process.argv.slice(2);
if (args.includes('--line-child')) {
  // Under one line's binary (parseOptions re-runs this file under --node): the results, as JSON.
  const rest = args.filter((a) => a !== '--line-child');
  const options = parseOptions(rest);
  const result = await runLine(options);
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
} else if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const lineIndex = args.indexOf('--lines');
  const lines = lineIndex === -1 ? ['20', '24'] : args[lineIndex + 1].split(',');
  const passOn = args.filter((a, i) => a !== '--save' && a !== '--lines' && args[i - 1] !== '--lines');
  parseOptions(passOn); // --help, and bad values, before anything runs
  const results = [];
  for (const line of lines) {
    progress(`cluster-push: Node ${line}`);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--line-child', '--node', line, ...passOn], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = child.stdout.trim().split('\n').at(-1);
    if (child.status !== 0 || !last?.startsWith('{')) {
      console.error(child.stdout);
      throw new Error(`Node ${line}: the bench failed (exit ${child.status})`);
    }
    results.push(JSON.parse(last));
  }
  const markdown = report(results, [...(lineIndex === -1 ? [] : ['--lines', lines.join(',')]), ...passOn]);
  console.log(markdown);
  if (args.includes('--save')) {
    // Into its own section of RESULTS.md, replaced on each --save; run.mjs keeps it.
    const file = path.join(here, 'RESULTS.md');
    const current = readFileSync(file, 'utf8');
    const start = current.indexOf(`${SECTION}\n`);
    const end = start === -1 ? -1 : current.indexOf('\n## ', start + 1);
    const next = start === -1 ? `${current.trimEnd()}\n\n${markdown}` : `${current.slice(0, start)}${markdown}${end === -1 ? '' : current.slice(end)}`;
    writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
    progress(`cluster-push: wrote the section into ${path.relative(process.cwd(), file)}`);
  }
}
