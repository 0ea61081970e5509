// What an idle process pays for mon (issue 27 item 4): the hello server with no traffic and no
// scrapes, bare and under mon in several configurations, its CPU time over --seconds (default 30)
// read from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms) and /proc/<pid>/schedstat
// (time on the CPU in ns: the precise figure; the ticks are what `top` and the issue used), and how
// often its main thread woke (voluntary context switches: each is a sleep in epoll_wait ended, the
// figure a loaded machine cannot move; a wake costs ~30 µs of CPU on a quiet machine). Every
// variant of one Node line runs at the same time, so they share the machine's load; the lines run
// one after the other.
//
//   node test/bench/idle.mjs [--seconds 30] [--lines 20,24] [--rounds 1]
//                            [--preload <path or specifier>]   (default @mon/register: this checkout)
//
// Linux only. Prints a markdown table: ms of CPU per second, per variant and line (median of the
// rounds, range in brackets when there are several).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const seconds = Number(option('seconds', '30'));
const rounds = Number(option('rounds', '1'));
const lines = option('lines', '20,24').split(',');
const preloadOption = option('preload', '@mon/register');
const preload = preloadOption.startsWith('@') ? preloadOption : pathToFileURL(path.resolve(preloadOption)).href;
/** Settling time before measuring: start-up, the endpoint's opening, the live history's first sample. */
const SETTLE_MS = 6_000;

const ALL_BUT_RUNTIME = 'http,http-client,db,cpu,memory,disk,process,container';
const VARIANTS = [
  { id: 'bare', label: 'bare', mon: false, env: {} },
  { id: 'default', label: 'mon, default', mon: true, env: {} },
  { id: 'ui-off', label: 'mon, MON_UI=off', mon: true, env: { MON_UI: 'off' } },
  { id: 'no-runtime', label: `mon, without the runtime group (MON_METRICS=${ALL_BUT_RUNTIME})`, mon: true, env: { MON_METRICS: ALL_BUT_RUNTIME } },
  { id: 'runtime-only', label: 'mon, the runtime group alone (MON_METRICS=runtime, MON_UI=off)', mon: true, env: { MON_METRICS: 'runtime', MON_UI: 'off' } },
];

function nodeBinary(line) {
  if (process.version.startsWith(`v${line}.`)) return process.execPath;
  return path.join(root, 'test/node-lines/node_modules', `node${line}`, 'bin/node');
}

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** [ticks of utime + stime, ns on the CPU, the main thread's voluntary context switches] of a process. */
function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of proc(5)
  const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  const wakes = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))[1]);
  return [ticks, ns, wakes];
}

async function start(line, variant) {
  const env = { ...process.env, PORT: '0', OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()), OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', ...variant.env };
  const child = spawn(nodeBinary(line), [...(variant.mon ? ['--import', preload] : []), path.join(here, 'servers/hello.mjs')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => /listening/.test(String(d)) && resolve());
    child.once('exit', (code) => reject(new Error(`${variant.id} on Node ${line} exited (${code})`)));
  });
  return child;
}

async function measure(line) {
  const children = await Promise.all(VARIANTS.map((v) => start(line, v)));
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const before = children.map((c) => cpuOf(c.pid));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = children.map((c) => cpuOf(c.pid));
    const elapsed = (performance.now() - t0) / 1000;
    // ms of CPU per second: ticks are 10 ms (USER_HZ 100).
    return VARIANTS.map((_, i) => ({
      ticks: ((after[i][0] - before[i][0]) * 10) / elapsed,
      sched: (after[i][1] - before[i][1]) / 1e6 / elapsed,
      wakes: (after[i][2] - before[i][2]) / elapsed,
    }));
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cell = (xs) => (xs.length === 1 ? xs[0].toFixed(2) : `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`);

const results = new Map(); // line -> variant index -> { ticks: [], sched: [] }
const versions = new Map();
for (const line of lines) {
  const per = VARIANTS.map(() => ({ ticks: [], sched: [], wakes: [] }));
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`idle: Node ${line}, round ${r + 1}/${rounds} (${seconds} s)\n`);
    const round = await measure(line);
    round.forEach((x, i) => {
      per[i].ticks.push(x.ticks);
      per[i].sched.push(x.sched);
      per[i].wakes.push(x.wakes);
    });
  }
  results.set(line, per);
  versions.set(line, (await new Promise((resolve) => {
    const c = spawn(nodeBinary(line), ['-p', 'process.version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', () => resolve(out.trim()));
  })));
}

const header = ['variant', ...lines.flatMap((l) => [`${versions.get(l)} CPU ms/s (schedstat)`, `utime+stime`, `wakes/s`])];
const rows = VARIANTS.map((v, i) => [v.label, ...lines.flatMap((l) => [cell(results.get(l)[i].sched), cell(results.get(l)[i].ticks), cell(results.get(l)[i].wakes)])]);
const out = [
  `Idle hello server (test/bench/servers/hello.mjs), no traffic, no scrapes; ms of CPU per second over ${seconds} s after ${SETTLE_MS / 1000} s of settling (schedstat: time on the CPU; utime+stime: in 10 ms ticks), and the main thread's wakes per second; ${rounds} round(s); preload ${preloadOption}; load average ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).availableParallelism()} CPUs.`,
  '',
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];
process.stdout.write(`${out.join('\n')}\n`);
