// What a request costs in CPU instructions, the figure a shared machine cannot move: each server runs
// under callgrind (valgrind's instruction counter, `--trace-children=no`), a load generator outside
// valgrind sends it exactly 1 000 requests in one run and 4 000 in another (5 000 and 20 000 on
// Node 20 and 22: REQUESTS), and the difference over 3 000 (15 000) is the cost of one request with
// start-up and shutdown cancelled. Per Node line, for bare,
// Node's floor (servers/hook-floor.mjs: the two channel subscribers mon's hook makes Node run,
// doing nothing; for Fastify also a subscriber to its handler channel, for the proxy the client
// channels) and mon, on the node:http, Express and Fastify hello apps and on an app
// making one outgoing call per request (servers/proxy.mjs over http.request). `close-floor`:
// the hook mon had before the finish channel (a 'close' listener per response), for comparison.
//
// mon runs with MON_METRICS=http (http,http-client for the proxy) and MON_UI=off: the live page's
// history takes a collection every 60 s of wall time, and under valgrind the 20 000-request run of
// Fastify lasts ~65 s against ~23 s for 5 000, so one more collection fell in the difference and
// passed for ~1.2 k instructions "a request" (RESULTS.md, Fastify); it is a cost per second, the
// default variants' and idle.mjs's business. Under valgrind a process runs
// ~50× slower, so the default configuration's timers (the 10 ms event-loop-delay sampler, the live
// page's history) fire ~50× more often per request than they would natively. The default is
// measured too (`--default` or `--variants default`) with its timers apart: `default-timers-off` is
// the same configuration with the two switches that exist for them, MON_UI=off (the live page's
// history) and the runtime group left out of MON_METRICS (the event-loop-delay sampler; the GC
// observer and the heap instruments go with it), so default − timers-off is what the timers took
// under valgrind's slowdown; and the same default server left idle for two lengths of time gives
// the timers' instructions per second, their cost natively up to valgrind's (RESULTS.md).
//
// Each thread is counted apart (--separate-threads): the main thread runs the app's JavaScript and
// Node's HTTP code, the others are V8's helpers, mostly its optimizing compiler, which under valgrind
// on Node 20 and 22 is still at work well past request 1 000. The main thread's figure is the
// per-request one and the one --check judges; every thread's is shown beside it.
//
//   node test/bench/instructions.mjs [--lines 20,22,24,26] [--apps hello,express,fastify,proxy]
//        [--variants bare,floor,close-floor,mon,default] [--default] [--requests FEW,MANY] [--jobs 2]
//        [--check] [--save] [--json FILE] [--keep DIR] [--merge A.json,B.json]
//   --check: exit 1 when mon's main-thread instructions per request exceed bare's by more than 3 %
//   anywhere. --requests: the same two counts for every line (default: each line's, REQUESTS).
//   --keep: copy every run's callgrind files there (for callgrind_annotate).
//   --semi-space MB: pin V8's semi-spaces at MB for every variant. Under valgrind the young generation
//   grows or not from one run to the next (Node 20: 61 scavenges in 15 000 requests for bare, 115 for
//   Node's floor, one doubling apart, while natively all three variants run 76 in 20 000 at the same
//   4 MB): each scavenge costs ~0.6 M instructions, so that alone moved a variant by ~2 k a request.
//   --sync-compile: every variant compiles on its main thread when V8 decides to
//   (--no-concurrent-recompilation --no-concurrent-sparkplug), not when a background thread gets the CPU:
//   on Node 20 that timing alone moved a variant by ±5 % between runs of the window (RESULTS.md).
//   --no-idle: with the default, skip the two idle runs (their per-second cost: idle.mjs, RESULTS "Idle").
//   --merge: measure nothing; the rows of earlier --json files, a later file's variants replacing an
//   earlier one's for the same line, app, requests and semi-space (the table of several partial runs).
//
// Needs valgrind (Debian: apt-get install valgrind) and the Node lines (npm ci --prefix test/node-lines).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanEnv, freePort } from './lib/process.mjs';
import { machine, progress, table } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const server = (name) => path.join(here, 'servers', name);
const LIMIT = 1.03;
/** --keep DIR: the callgrind files of every run are copied there, for callgrind_annotate. */
let keepDir;
/** --semi-space MB: V8's young generation pinned at that size, for every variant (see the option). */
let semiSpaceArgs = [];
/** --sync-compile: V8 compiles on the main thread, so the count no longer depends on thread timing. */
let syncCompileArgs = [];

export const LINES = ['20', '22', '24', '26'];
/**
 * The two request counts per line. Node 20 and 22 (V8 11.3, 12.4) are judged past request 5 000:
 * under valgrind their optimizing compiler, on the same core as the requests, is still installing
 * code long after request 1 000, so requests 1 001-4 000 there still run mostly unoptimized handlers
 * (IC stubs and Sparkplug builtins) and measure the compiler's warm-up, not a request (RESULTS.md,
 * "Instructions per request": Node 20 mon ÷ bare 1.12 in that window, 1.06 past 5 000 before
 * mon's hot path was cut). Node 24 and 26 are warm by request 1 000.
 */
export const REQUESTS = { 20: [5000, 20000], 22: [5000, 20000], 24: [1000, 4000], 26: [1000, 4000] };
export function nodeBinary(line) {
  if (line === '20') return 'node';
  return path.join(root, 'test/node-lines/node_modules', `node${line}`, 'bin/node');
}

const APPS = {
  hello: { label: 'node:http', script: 'hello.mjs' },
  express: { label: 'Express 5', script: 'express.mjs' },
  // Its floor adds a subscriber to Fastify 5's handler channel, mon's route source (what Fastify then
  // builds per request is Fastify's: servers/fastify-channel-floor.mjs).
  fastify: { label: 'Fastify 5', script: 'fastify.mjs', floor: 'fastify-channel-floor.mjs' },
  // One outgoing call per request: the http-client group's channels run too.
  proxy: { label: 'proxy (http.request)', script: 'proxy.mjs', env: { BENCH_PROXY_CLIENT: 'http' }, client: true },
};

const floorArgs = (app) => [
  '--import',
  pathToFileURL(server('hook-floor.mjs')).href,
  ...(app.client ? ['--import', pathToFileURL(server('client-dc-floor.mjs')).href] : []),
  ...(app.floor ? ['--import', pathToFileURL(server(app.floor)).href] : []),
];
const VARIANTS = {
  bare: { args: () => [], env: () => ({}) },
  floor: { args: floorArgs, env: () => ({}) },
  // The hook mon had before the finish channel: a start subscriber and a 'close' listener per response.
  'close-floor': { args: () => ['--import', pathToFileURL(server('close-floor.mjs')).href], env: () => ({}) },
  mon: { args: () => ['--import', '@mon/register'], env: (app) => ({ MON_UI: 'off', MON_METRICS: app.client ? 'http,http-client' : 'http' }) },
  default: { args: () => ['--import', '@mon/register'], env: () => ({}) },
  // The default with its timers off, through the switches that exist: no live page (its history's
  // timer), no runtime group (the event-loop-delay sampler; its GC observer and heap instruments too).
  'default-timers-off': {
    args: () => ['--import', '@mon/register'],
    env: () => ({ MON_UI: 'off', MON_METRICS: 'http,http-client,db,cpu,memory,disk,process,container' }),
  },
};
const DEFAULTS = ['default', 'default-timers-off'];

/** Runs one process under callgrind; `drive(port)` does what it must, then it is stopped. */
async function underCallgrind(line, app, variant, drive, tag) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mon-instr-'));
  const out = path.join(dir, 'callgrind.out');
  const port = await freePort();
  const metricsPort = await freePort();
  const env = cleanEnv({
    ...app.env,
    ...VARIANTS[variant].env(app),
    PORT: String(port),
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
  });
  const args = [
    '-n', '10', 'valgrind', '--tool=callgrind', '--trace-children=no', '--separate-threads=yes', `--callgrind-out-file=${out}`,
    nodeBinary(line), ...semiSpaceArgs, ...syncCompileArgs, ...VARIANTS[variant].args(app), server(app.script),
  ];
  const child = spawn('nice', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    await until(() => /^listening \d+$/m.test(stdout), exited, 1_800_000, () => `Node ${line} ${app.script} ${variant} (${tag}): no "listening"\n${stderr.slice(-2000)}`);
    const extra = await drive(port);
    child.kill('SIGTERM');
    await exited;
    // One file per thread (callgrind.out-01 is the main thread, where the app's JavaScript runs); the
    // others are V8's and libuv's helpers: the optimizing compiler's background jobs, parallel GC.
    let main;
    let total = 0;
    for (const name of readdirSync(dir).filter((n) => /^callgrind\.out-\d+$/.test(n)).sort()) {
      const text = readFileSync(path.join(dir, name), 'utf8');
      const count = Number(/^(?:summary|totals):\s+(\d+)/m.exec(text)?.[1]);
      if (!Number.isFinite(count)) throw new Error(`no totals in ${name}`);
      if (main === undefined) main = count;
      total += count;
    }
    if (main === undefined) throw new Error(`callgrind wrote nothing into ${dir}`);
    if (keepDir) cpSync(dir, path.join(keepDir, `${line}-${path.parse(app.script).name}-${variant}-${tag.replace(/\W+/g, '_')}`), { recursive: true });
    return { main, total, ...extra };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function until(condition, exited, timeoutMs, message) {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (condition()) done(resolve);
    }, 50);
    const deadline = setTimeout(() => done(() => reject(new Error(message()))), timeoutMs);
    exited.then(() => done(() => reject(new Error(`exited early: ${message()}`))));
    let finished = false;
    function done(settle) {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      clearTimeout(deadline);
      settle();
    }
  });
}

/** Exactly `count` GET / over `connections` keep-alive connections; every answer must be a 200. */
export async function load(port, count, connections = 8) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  const once = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  // A kept-alive socket the server closed as the request went out (its keepAliveTimeout, ~50× slower
  // under valgrind): the request never reached the app, so sending it again keeps the count exact.
  const one = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (error) {
        if (attempt === 5 || (error.code !== 'ECONNRESET' && error.code !== 'EPIPE')) throw error;
      }
    }
  };
  const worker = async () => {
    while (sent < count) {
      sent++;
      await one();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return (performance.now() - t0) / 1000;
}

/** A pool of `jobs` concurrent tasks. */
async function pool(tasks, jobs) {
  const results = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Instructions per request of one (line, app, variant): the difference of two counted loads. */
function perRequestTasks(line, appId, variant, [few, many]) {
  const app = APPS[appId];
  const counted = (n) => () =>
    underCallgrind(line, app, variant, async (port) => ({ seconds: await load(port, n) }), `${n} requests`).then((r) => {
      progress(`instructions: Node ${line} ${appId} ${variant} ${n} req: main ${(r.main / 1e6).toFixed(1)} M, all ${(r.total / 1e6).toFixed(1)} M in ${r.seconds.toFixed(1)} s`);
      return r;
    });
  return [counted(few), counted(many)];
}

/** Idle instructions per second of the default configuration: two idle lengths, after one request. */
function idleTasks(line, appId, [short, long]) {
  const app = APPS[appId];
  const idle = (seconds) => () =>
    underCallgrind(
      line,
      app,
      'default',
      async (port) => {
        await load(port, 1, 1);
        await sleep(seconds * 1000);
        return { seconds };
      },
      `idle ${seconds} s`,
    ).then((r) => {
      progress(`instructions: Node ${line} ${appId} default idle ${seconds} s: ${(r.total / 1e6).toFixed(1)} M`);
      return r;
    });
  return [idle(short), idle(long)];
}

/** `requests`: the two counts for every line; by default each line's own (REQUESTS). */
export async function run({ lines = LINES, apps = Object.keys(APPS), variants = ['bare', 'floor', 'mon'], withDefault = false, requests, jobs = 2, idleSeconds = [5, 25] } = {}) {
  for (const line of lines) if (line !== '20' && !existsSync(nodeBinary(line))) throw new Error(`no ${nodeBinary(line)} (npm ci --prefix test/node-lines)`);
  const windowOf = (line) => requests ?? REQUESTS[line] ?? [1000, 4000];
  // `--variants default` means the default configuration with its timers apart.
  if (variants.some((v) => DEFAULTS.includes(v))) {
    withDefault = true;
    variants = variants.filter((v) => !DEFAULTS.includes(v));
  }
  const tasks = [];
  const keys = [];
  for (const line of lines) {
    for (const appId of apps) {
      for (const variant of [...variants, ...(withDefault ? DEFAULTS : [])]) {
        tasks.push(...perRequestTasks(line, appId, variant, windowOf(line)));
        keys.push([line, appId, variant, 'few'], [line, appId, variant, 'many']);
      }
      if (withDefault && idleSeconds) {
        tasks.push(...idleTasks(line, appId, idleSeconds));
        keys.push([line, appId, 'idle', 'short'], [line, appId, 'idle', 'long']);
      }
    }
  }
  // A run that fails (a start-up past the bound on a loaded machine) leaves its cell empty, not the table.
  const results = await pool(
    tasks.map((task, i) => () =>
      task().catch((error) => {
        progress(`instructions: ${keys[i].join(' ')} failed: ${error.message.split('\n')[0]}`);
        return undefined;
      }),
    ),
    jobs,
  );
  const got = (line, appId, variant, which) => results[keys.findIndex((k) => k.join() === [line, appId, variant, which].join())];
  const rows = [];
  const versions = {};
  for (const line of lines) {
    const window = windowOf(line);
    const span = window[1] - window[0];
    for (const appId of apps) {
      const per = (variant) => {
        const few = got(line, appId, variant, 'few');
        const many = got(line, appId, variant, 'many');
        if (!few || !many) return undefined;
        return {
          perRequest: (many.main - few.main) / span,
          allThreads: (many.total - few.total) / span,
          extraSeconds: many.seconds - few.seconds,
        };
      };
      const row = {
        line,
        app: appId,
        window,
        ...(semiSpaceArgs.length > 0 ? { semiSpace: Number(semiSpaceArgs[0].split('=')[1]) } : {}),
        ...(syncCompileArgs.length > 0 ? { syncCompile: true } : {}),
      };
      for (const variant of [...variants, ...(withDefault ? DEFAULTS : [])]) row[variant] = per(variant);
      if (withDefault) {
        const short = got(line, appId, 'idle', 'short');
        const long = got(line, appId, 'idle', 'long');
        if (short && long) row.idlePerSecond = (long.main - short.main) / (idleSeconds[1] - idleSeconds[0]);
      }
      rows.push(row);
    }
    versions[line] = await nodeVersion(line);
  }
  return { rows, versions };
}

function nodeVersion(line) {
  return new Promise((resolve) => {
    const child = spawn(nodeBinary(line), ['-p', 'process.version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('close', () => resolve(out.trim()));
  });
}

const k = (n) => (n === undefined ? '–' : `${(n / 1000).toFixed(1)} k`);
const x = (a, b) => (a === undefined || b === undefined ? '–' : (a / b).toFixed(3));

export function markdown({ rows, versions }) {
  const hasDefault = rows.some((r) => r.default || r['default-timers-off']);
  const hasClose = rows.some((r) => r['close-floor']);
  const header = ['Node', 'app', 'requests', 'bare', "Node's floor", ...(hasClose ? ["floor with a 'close' listener"] : []), 'mon', 'mon ÷ bare', 'mon ÷ floor', 'all threads: bare / floor / mon', 'mon ÷ bare'];
  const hasIdle = rows.some((r) => r.idlePerSecond !== undefined);
  if (hasDefault) header.push('default', 'default, timers off', '÷ bare', 'timers under valgrind (default − timers off)', ...(hasIdle ? ['timers idle, instr/s (main)'] : []));
  const body = rows.map((r) => {
    const cells = [
      versions[r.line] ?? r.line,
      APPS[r.app].label,
      `${(r.window[0] + 1).toLocaleString('en-US')}-${r.window[1].toLocaleString('en-US')}${r.semiSpace ? ` (semi-space ${r.semiSpace} MB)` : ''}${r.syncCompile ? ' (sync compile)' : ''}`,
      k(r.bare?.perRequest),
      k(r.floor?.perRequest),
      ...(hasClose ? [k(r['close-floor']?.perRequest)] : []),
      k(r.mon?.perRequest),
      x(r.mon?.perRequest, r.bare?.perRequest),
      x(r.mon?.perRequest, r.floor?.perRequest),
      [r.bare, r.floor, r.mon].map((v) => k(v?.allThreads)).join(' / '),
      x(r.mon?.allThreads, r.bare?.allThreads),
    ];
    if (hasDefault) {
      const quiet = r['default-timers-off']?.perRequest;
      const timers = r.default && quiet !== undefined ? r.default.perRequest - quiet : undefined;
      cells.push(k(r.default?.perRequest), k(quiet), x(quiet, r.bare?.perRequest), k(timers));
      if (hasIdle) cells.push(r.idlePerSecond === undefined ? '–' : `${(r.idlePerSecond / 1e6).toFixed(2)} M`);
    }
    return cells;
  });
  return [
    `\`node test/bench/instructions.mjs\` on ${new Date().toISOString().slice(0, 10)}; ${machine().replace(/^Node \S+, /, '')}. ` +
      'Instructions per request: callgrind count of a server answering N requests minus one answering M, over N − M (the requests column: M + 1 to N); ' +
      "the main thread's (the app's JavaScript, Node's HTTP, GC on the main thread), then every thread's (with V8's background compiler jobs).",
    '',
    table(header, body),
    '',
  ].join('\n');
}

/** Several runs' results as one: per line and app, a later result's variants replace an earlier one's. */
export function merge(results) {
  const rows = new Map();
  const versions = {};
  for (const result of results) {
    Object.assign(versions, result.versions);
    for (const row of result.rows) {
      const key = `${row.line} ${row.app} ${row.window} ${row.semiSpace ?? ''} ${row.syncCompile ? 'sync' : ''}`;
      const defined = Object.fromEntries(Object.entries(row).filter(([, value]) => value !== undefined));
      rows.set(key, { ...rows.get(key), ...defined });
    }
  }
  const order = (r) => LINES.indexOf(r.line) + 10 * Object.keys(APPS).indexOf(r.app) + r.window[0] / 1e6 + (r.semiSpace ? 0.5 : 0);
  return { rows: [...rows.values()].sort((a, b) => order(a) - order(b)), versions };
}

/** Rows where mon exceeds bare by more than 3 %. */
export function failures(rows) {
  return rows.filter((r) => r.mon && r.bare && r.mon.perRequest > r.bare.perRequest * LIMIT);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string' },
      apps: { type: 'string' },
      variants: { type: 'string' },
      default: { type: 'boolean' },
      requests: { type: 'string' },
      jobs: { type: 'string' },
      check: { type: 'boolean' },
      save: { type: 'boolean' },
      json: { type: 'string' },
      keep: { type: 'string' },
      merge: { type: 'string' },
      'semi-space': { type: 'string' },
      'no-idle': { type: 'boolean' },
      'sync-compile': { type: 'boolean' },
    },
  });
  keepDir = values.keep;
  if (values['sync-compile']) syncCompileArgs = ['--no-concurrent-recompilation', '--no-concurrent-sparkplug'];
  if (values['semi-space']) semiSpaceArgs = [`--min-semi-space-size=${Number(values['semi-space'])}`, `--max-semi-space-size=${Number(values['semi-space'])}`];
  const list = (s) => s.split(',').map((v) => v.trim()).filter(Boolean);
  const options = {
    ...(values.lines ? { lines: list(values.lines) } : {}),
    ...(values.apps ? { apps: list(values.apps) } : {}),
    ...(values.variants ? { variants: list(values.variants) } : {}),
    withDefault: Boolean(values.default),
    ...(values.requests ? { requests: list(values.requests).map(Number) } : {}),
    ...(values.jobs ? { jobs: Number(values.jobs) } : {}),
    ...(values['no-idle'] ? { idleSeconds: null } : {}),
  };
  for (const app of options.apps ?? []) if (!APPS[app]) throw new Error(`unknown app ${app}; known: ${Object.keys(APPS).join(', ')}`);
  const result = values.merge ? merge(list(values.merge).map((file) => JSON.parse(readFileSync(file, 'utf8')))) : await run(options);
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  const text = markdown(result);
  console.log(text);
  if (values.save) saveSection(text);
  if (values.check) {
    const bad = failures(result.rows);
    for (const r of bad) console.error(`instructions: Node ${r.line} ${r.app}: mon ${k(r.mon.perRequest)} > bare ${k(r.bare.perRequest)} × ${LIMIT}`);
    if (bad.length > 0) process.exitCode = 1;
    else console.error(`instructions: mon within ${Math.round((LIMIT - 1) * 100)} % of bare everywhere measured`);
  }
}

function saveSection(text) {
  const file = path.join(here, 'RESULTS.md');
  const current = readFileSync(file, 'utf8');
  const heading = '## Instructions per request';
  const start = current.indexOf(heading);
  if (start === -1) throw new Error(`RESULTS.md has no "${heading}" section to fill`);
  const marker = '<!-- instructions.mjs table -->';
  const at = current.indexOf(marker, start);
  const end = current.indexOf('<!-- /instructions.mjs table -->', at);
  if (at === -1 || end === -1) throw new Error('RESULTS.md: no table markers in the instructions section');
  writeFileSync(file, `${current.slice(0, at + marker.length)}\n\n${text}\n${current.slice(end)}`);
  progress('instructions: table saved into RESULTS.md');
}
