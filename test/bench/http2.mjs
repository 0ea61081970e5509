// What mon costs per HTTP/2 request and per gRPC call: server CPU and JS heap bytes allocated,
// bare vs a floor (subscribers on the two http2 channels mon uses, servers/http2-dc-floor.mjs) vs
// mon. Node 22+ (Node 20 has no http2 channels: mon counts nothing there and costs nothing).
//
// Per round and variant: a fresh server (servers/http2-hello.mjs) with servers/gc-window.mjs
// preloaded first, a warm-up of --warm requests from a separate load process (lib/http2-load.mjs,
// one session or channel, --concurrency in flight), then a window (SIGUSR2 ... SIGUSR2) around
// exactly --requests more: bytes = what gc-window.mjs counts allocated in the window, CPU = the
// server's utime+stime from /proc over the window (10 ms ticks: hence thousands of requests).
// The mon variant's endpoint is scraped afterwards: every request must have been counted.
//
// With --heap-profile, instead: per kind and round, the window of two floor processes and of
// mon-quiet runs V8's sampling heap profiler, and it prints the bytes per request allocated under
// mon's frames (lib/heapprofile.mjs), by mon function, and the allocating sites where mon-quiet
// differs from the floors (two floors: what one process differs from the next on its own).
//
//   node test/bench/http2.mjs [--heap-profile] [--rounds 3] [--requests 30000] [--grpc-requests 10000] [--concurrency 50] [--kinds http1,http2,grpc]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/cpu.mjs';
import { ownAllocations } from './lib/heapprofile.mjs';
import { cleanEnv, freePort, get, spawnNode, stop, waitForLine, waitListening } from './lib/process.mjs';
import { load, machine, median, progress, table } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const server = (name) => pathToFileURL(path.join(here, 'servers', name)).href;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '30000' },
    'grpc-requests': { type: 'string', default: '10000' },
    // Long enough for V8 to optimize mon's listeners: with 5 000, JIT work showed as 100+ B/req.
    warm: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    // A comma-separated subset of http1,http2,grpc (all by default).
    kinds: { type: 'string', default: 'http1,http2,grpc' },
    // Instead of the table: where the bytes go. Per kind and round, a sampled heap profile of the
    // window (servers/gc-window.mjs with BENCH_HEAP_PROFILE) for two floor processes and mon-quiet.
    'heap-profile': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const concurrency = values.concurrency;

// mon-quiet: mon with only its request recorders, no live page and no host metrics, so that
// nothing but the requests runs in the window: the per-request figure. mon as a user runs it
// also peeks every 10 s for the live page and collects host metrics; over a long window that
// background work shows as bytes "per request" in proportion to the window's length.
const VARIANTS = [
  { id: 'bare', args: [] },
  { id: 'floor', args: (kind) => ['--import', server(kind === 'http1' ? 'dc-floor.mjs' : 'http2-dc-floor.mjs')] },
  // HTTP/2 only: the floor plus one WeakMap entry per stream (see servers/http2-dc-floor.mjs).
  { id: 'floor+WeakMap', args: ['--import', server('http2-dc-floor.mjs')], env: { BENCH_FLOOR_WEAKMAP: '1' }, kinds: ['http2', 'grpc'] },
  { id: 'mon-quiet', args: ['--import', '@mon/register'], env: { MON_UI: 'off', MON_METRICS: 'http,http-client' } },
  { id: 'mon', args: ['--import', '@mon/register'] },
];
const KINDS = [
  { id: 'http1', name: 'HTTP/1.1 request (node:http, for comparison)', requests: Number(values.requests), counted: /^http_server_requests_total\{[^}]*\} (\d+)/gm },
  { id: 'http2', name: 'HTTP/2 request (h2c, stream API)', requests: Number(values.requests), counted: /^http_server_requests_total\{[^}]*network_protocol_version="2"[^}]*\} (\d+)/gm },
  { id: 'grpc', name: 'gRPC unary call (@grpc/grpc-js)', requests: Number(values['grpc-requests']), counted: /^rpc_server_call_duration_seconds_count\{[^}]*\} (\d+)/gm },
];

async function runLoad(kind, port, count) {
  const proc = spawnNode([path.join(here, 'lib', 'http2-load.mjs'), kind, String(port), String(count), concurrency], { env: cleanEnv({}), cwd: root });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`load exited ${code}: ${proc.stderr()}`);
}

async function measure(kind, variant, heapProfile) {
  const port = await freePort();
  const metricsPort = await freePort();
  const env = cleanEnv({ PORT: String(port), BENCH_KIND: kind.id, OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort), OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', ...variant.env });
  if (heapProfile) env.BENCH_HEAP_PROFILE = heapProfile;
  const args = typeof variant.args === 'function' ? variant.args(kind.id) : variant.args;
  const proc = spawnNode(['--import', server('gc-window.mjs'), ...args, path.join(here, 'servers', 'http2-hello.mjs')], { env, cwd: root });
  try {
    await waitListening(proc);
    // mon starts its endpoint and host metrics a second after the app (after-start-up.ts): that
    // start-up must not land in the window, so every variant waits 2.5 s. Not by polling the
    // endpoint: one HTTP/1 request served in the process (a scrape) leaves Node's shared stream
    // code slower for HTTP/2 afterwards (+500 B/req here, in Node's frames; docs/http2-grpc.md).
    await sleep(2500);
    await runLoad(kind.id, port, Number(values.warm));
    let from = proc.stdout().length;
    proc.child.kill('SIGUSR2');
    await waitForLine(proc, /^gc-window started$/m, from);
    const cpuBefore = cpuSeconds(proc.child.pid);
    await runLoad(kind.id, port, kind.requests);
    const cpu = cpuSeconds(proc.child.pid) - cpuBefore;
    from = proc.stdout().length;
    proc.child.kill('SIGUSR2');
    const stats = JSON.parse((await waitForLine(proc, /^gc-window (\{.*\})$/m, from))[1]);
    if (heapProfile) return { profile: JSON.parse(readFileSync(heapProfile, 'utf8')) };
    const bytes = Object.values(stats.allocated).reduce((s, b) => s + Math.max(0, b), 0);
    if (variant.id.startsWith('mon')) {
      const text = (await get(`http://127.0.0.1:${metricsPort}/metrics`)).body;
      const counted = [...text.matchAll(kind.counted)].reduce((s, m) => s + Number(m[1]), 0);
      const expected = Number(values.warm) + kind.requests;
      if (counted !== expected) throw new Error(`mon counted ${counted} ${kind.id} requests of ${expected}`);
    }
    return { cpuMicros: (cpu * 1e6) / kind.requests, bytes: bytes / kind.requests };
  } finally {
    await stop(proc);
  }
}

/**
 * Sampled bytes per request: all of them, those under mon's frames (lib/heapprofile.mjs), and the
 * rest by the allocating function (self bytes), so that two processes can be compared site by site.
 */
function sampled(profile, requests) {
  const bySelf = new Map();
  let total = 0;
  const walk = (node) => {
    if (node.selfSize > 0) {
      const f = node.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}`;
      bySelf.set(key, (bySelf.get(key) ?? 0) + node.selfSize / requests);
      total += node.selfSize / requests;
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(profile.head);
  return { total, bySelf, mon: ownAllocations(profile, requests, 'register/dist/bundle') };
}

async function heapProfiles() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mon-bench-h2heap-'));
  const floor = VARIANTS.find((v) => v.id === 'floor');
  const monQuiet = VARIANTS.find((v) => v.id === 'mon-quiet');
  const runs = [{ ...floor, id: 'floor A' }, { ...floor, id: 'floor B' }, monQuiet];
  try {
    for (const kind of KINDS.filter((k) => values.kinds.split(',').includes(k.id))) {
      for (let round = 0; round < rounds; round++) {
        const got = {};
        for (const variant of runs.map((_, i) => runs[(i + round) % runs.length])) {
          progress(`${kind.id} heap profile round ${round + 1}/${rounds}: ${variant.id}`);
          const file = path.join(dir, 'window.heapprofile');
          got[variant.id] = sampled((await measure(kind, variant, file)).profile, kind.requests);
        }
        const [a, b, m] = runs.map((v) => got[v.id]);
        console.log(`\n#### ${kind.name}, round ${round + 1}: sampled B/req floor A ${a.total.toFixed(0)}, floor B ${b.total.toFixed(0)}, mon-quiet ${m.total.toFixed(0)}; under mon's frames ${m.mon.own.toFixed(1)}\n`);
        for (const { site, bytes } of m.mon.sites.filter((x) => x.bytes >= 0.5)) console.log(`- mon: \`${site}\` ${bytes.toFixed(1)}`);
        // Sites where mon-quiet differs from both floors by more than the floors differ from each other.
        const keys = new Set([...a.bySelf.keys(), ...b.bySelf.keys(), ...m.bySelf.keys()]);
        const diffs = [...keys]
          .map((k) => {
            const [x, y, z] = [a, b, m].map((p) => p.bySelf.get(k) ?? 0);
            return { k, x, y, z, beyond: Math.min(Math.abs(z - x), Math.abs(z - y)) - Math.abs(x - y) };
          })
          .filter((d) => Math.abs(d.z - (d.x + d.y) / 2) >= 4)
          .sort((p, q) => Math.abs(q.z - (q.x + q.y) / 2) - Math.abs(p.z - (p.x + p.y) / 2))
          .slice(0, 15);
        for (const d of diffs) console.log(`- site \`${d.k}\`: floor A ${d.x.toFixed(1)}, floor B ${d.y.toFixed(1)}, mon-quiet ${d.z.toFixed(1)}${d.beyond > 0 ? ' (beyond the floors\' spread)' : ''}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values['heap-profile']) {
  await heapProfiles();
  process.exit(0);
}

const loadBefore = load();
const rows = [];
for (const kind of KINDS.filter((k) => values.kinds.split(',').includes(k.id))) {
  const results = Object.fromEntries(VARIANTS.map((v) => [v.id, []]));
  for (let round = 0; round < rounds; round++) {
    // Order rotated per round: no variant always runs first on a warming machine.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]).filter((v) => v.kinds === undefined || v.kinds.includes(kind.id));
    for (const variant of order) {
      progress(`${kind.id} round ${round + 1}/${rounds}: ${variant.id}`);
      results[variant.id].push(await measure(kind, variant));
    }
  }
  const med = (id, key) => median(results[id].map((r) => r[key]));
  const range = (id, key, digits) => {
    const v = results[id].map((r) => r[key]);
    return `${med(id, key).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;
  };
  for (const variant of VARIANTS.filter((v) => v.kinds === undefined || v.kinds.includes(kind.id))) {
    rows.push([
      kind.name,
      variant.id,
      range(variant.id, 'cpuMicros', 1),
      variant.id === 'bare' ? '–' : `${(med(variant.id, 'cpuMicros') - med('bare', 'cpuMicros')).toFixed(1)}`,
      range(variant.id, 'bytes', 0),
      variant.id === 'bare' ? '–' : `${(med(variant.id, 'bytes') - med('bare', 'bytes')).toFixed(0)}`,
      variant.id.startsWith('mon') ? `${(med(variant.id, 'bytes') - med('floor', 'bytes')).toFixed(0)}` : '–',
    ]);
  }
}

console.log(`### HTTP/2 and gRPC: server CPU and bytes per request\n`);
console.log('`node test/bench/http2.mjs` (test/bench/http2.mjs says how). floor: bare plus subscribers on the channels mon uses (Node builds their messages); mon-quiet: mon with MON_UI=off MON_METRICS=http,http-client, nothing but the request recorders in the window; mon: as a user runs it (its live page peeks every 10 s and host metrics show in a long window).\n');
console.log(`${machine()}, ${rounds} rounds, ${values.requests} HTTP/2 requests and ${values['grpc-requests']} gRPC calls per window, ${concurrency} in flight (load average ${loadBefore} before, ${load()} after). Median (min–max):\n`);
console.log(
  table(
    ['per', 'variant', 'server CPU µs', 'CPU µs vs bare', 'JS heap bytes', 'bytes vs bare', 'bytes vs floor'],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  ),
);
