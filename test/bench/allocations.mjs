// Allocations per request on the hot path: JS heap bytes the server allocates per request, bare and
// under each variant, and what mon adds above bare. Goal (issue 8): none beyond Node's own.
//
// Each run starts every variant fresh (order rotated per run) with servers/gc-window.mjs preloaded
// first, warms it with 2 s of wrk load (JIT, mon's per-route state), then opens the window
// (SIGUSR2), sends exactly --alloc-requests requests (wrk stopped by count: lib/stop-after.lua) and
// closes it. gc-window.mjs sums the heap's used size per space across every GC of the window
// (v8.GCProfiler gives the sizes before and after each), which is the bytes allocated, and counts the
// GCs by type, the scavenges that --trace-gc would print. Bytes per request are that total over
// the requests wrk saw answered. Included, and not per request: the few (< connections) still in
// flight when wrk stopped, as for bare, and the process's background work (no scrape runs; mon's
// GC observer shows in the heap profile below at about 1 B/req).
//
// With mon comes a floor variant (servers/dc-floor.mjs): bare plus subscribers on the diagnostics
// channels mon listens on (request start, response finish), which makes Node build a message object per request for each. mon above the floor is
// what mon itself allocates. Then, to say where, one more window of mon runs V8's
// sampling heap profiler instead (servers/gc-window.mjs with BENCH_HEAP_PROFILE), and the bytes
// allocated under mon's frames are listed by mon function (lib/heapprofile.mjs).
//
//   node test/bench/allocations.mjs [--quick] [--memory-runs 3] [--alloc-requests 100000] [--only mon,otel]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ownAllocations } from './lib/heapprofile.mjs';
import { mainIf } from './lib/options.mjs';
import { get, waitForLine } from './lib/process.mjs';
import { delta, fixed, load, machine, median, progress, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, countedRequests, selectVariants, start } from './lib/variants.mjs';
import { wrk, wrkProblems } from './lib/wrk.mjs';

const server = (name) => pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'servers', name)).href;
const GC_WINDOW = server('gc-window.mjs');
// Node's own cost of the hook mon uses (servers/dc-floor.mjs): measured with mon, compared to both.
const FLOOR = {
  id: 'floor',
  group: 'node:http',
  name: 'floor: bare + an http.server.request.start subscriber that keeps the message',
  script: 'hello.mjs',
  nodeArgs: ['--import', server('dc-floor.mjs')],
};
const YOUNG = ['new_space', 'new_large_object_space'];
// Requests in the heap-profiled window: the sampling profiler slows the server several times over.
const PROFILED_REQUESTS = 20_000;

/** Where mon's own bytes are allocated: one heap-profiled window of mon (lib/heapprofile.mjs). */
async function attribute(mon, options) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mon-bench-heap-'));
  try {
    const m = await measure(mon, { ...options, allocRequests: PROFILED_REQUESTS }, path.join(dir, 'mon.heapprofile'));
    return ownAllocations(m.profile, m.requests, 'register/dist/bundle');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(variant, { allocRequests, connections }, heapProfile) {
  const env = heapProfile ? { ...variant.env, BENCH_HEAP_PROFILE: heapProfile } : variant.env;
  const server = await start({ ...variant, env, nodeArgs: ['--import', GC_WINDOW, ...variant.nodeArgs] });
  try {
    await get(server.url);
    await wrk(server.url, { seconds: 2, connections });
    let from = server.proc.stdout().length;
    server.proc.child.kill('SIGUSR2');
    await waitForLine(server.proc, /^gc-window started$/m, from);
    const result = await wrk(server.url, { seconds: 300, connections, requests: allocRequests });
    from = server.proc.stdout().length;
    server.proc.child.kill('SIGUSR2');
    const stats = JSON.parse((await waitForLine(server.proc, /^gc-window (\{.*\})$/m, from))[1]);
    if (heapProfile) return { requests: result.requests, profile: JSON.parse(readFileSync(heapProfile, 'utf8')) };
    const count = await countedRequests(variant, server);
    if (count === 0) throw new Error(`${commandOf(variant)} counted 0 requests`);
    const sum = (spaces) => spaces.reduce((s, space) => s + Math.max(0, stats.allocated[space] ?? 0), 0);
    return {
      requests: result.requests,
      problem: wrkProblems(result),
      total: sum(Object.keys(stats.allocated)),
      young: sum(YOUNG),
      scavenges: stats.gcs.Scavenge ?? 0,
      majors: stats.gcs.MarkSweepCompact ?? 0,
      gcs: stats.gcs,
    };
  } finally {
    await server.stop();
  }
}

export async function run(options) {
  const selected = selectVariants(options.only);
  const monAt = selected.findIndex((v) => v.id === 'mon');
  const variants = monAt === -1 ? selected : [...selected.slice(0, monAt), FLOOR, ...selected.slice(monAt)];
  const { memoryRuns: runs, allocRequests } = options;
  const samples = new Map(variants.map((v) => [v.id, []]));
  const problems = [];
  const loadBefore = load();
  progress(`allocations: ${runs} runs x ${variants.length} servers, ${allocRequests} requests each`);
  for (let i = 0; i < runs; i++) {
    for (const variant of variants.map((_, k) => variants[(k + i) % variants.length])) {
      const m = await measure(variant, options);
      samples.get(variant.id)[i] = m;
      if (m.problem) problems.push(`run ${i + 1} ${variant.group} ${variant.name}: ${m.problem}`);
      progress(
        `  run ${i + 1}/${runs} ${variant.group} ${variant.name}: ${fixed(m.total / m.requests)} B/req ` +
          `(young ${fixed(m.young / m.requests)}), GCs ${JSON.stringify(m.gcs)}`,
      );
    }
  }
  const mon = variants.find((v) => v.id === 'mon');
  const sites = mon ? await attribute(mon, options) : null;
  if (sites) progress(`  heap profile: ${fixed(sites.own, 1)} B/req allocated under mon's frames`);

  const perRequest = (m, key) => m[key] / m.requests;
  const rows = variants.map((variant) => {
    const own = samples.get(variant.id);
    const base = samples.get(variants.find((v) => v.group === variant.group && v.baseline).id);
    const diff = (key) => (variant.baseline ? '–' : delta(own.map((m, i) => perRequest(m, key) - perRequest(base[i], key)), 0));
    return [
      variant.group,
      variant.name,
      fixed(median(own.map((m) => perRequest(m, 'total')))),
      diff('total'),
      fixed(median(own.map((m) => perRequest(m, 'young')))),
      diff('young'),
      fixed(median(own.map((m) => (m.scavenges * 100_000) / m.requests)), 1),
      fixed(median(own.map((m) => m.majors))),
    ];
  });
  const summary = [];
  for (const group of [...new Set(variants.map((v) => v.group))]) {
    const monOf = variants.find((v) => v.group === group && v.name === 'mon');
    if (!monOf) continue;
    const base = samples.get(variants.find((v) => v.group === group && v.baseline).id);
    const diffs = (variant) => samples.get(variant.id).map((m, i) => perRequest(m, 'total') - perRequest(base[i], 'total'));
    const peers = variants.filter((v) => v.group === group && !v.baseline && v !== monOf && v !== FLOOR);
    summary.push(
      summaryRow(
        `JS heap bytes allocated per request, Δ vs bare, ${group}`,
        delta(diffs(monOf), 0),
        peers.map((p) => `${p.name} ${delta(diffs(p), 0)}`).join('; '),
      ),
    );
  }
  if (monAt !== -1) {
    const floor = samples.get(FLOOR.id);
    const floorDiffs = (key) => samples.get('mon').map((m, i) => perRequest(m, key) - perRequest(floor[i], key));
    const base = samples.get('bare');
    summary.push(
      summaryRow(
        "of which Node's own (the channel's message object: the floor above bare), B/req, node:http",
        delta(floor.map((m, i) => perRequest(m, 'total') - perRequest(base[i], 'total')), 0),
      ),
      summaryRow(
        'mon above the floor, B/req, node:http',
        delta(floorDiffs('total'), 0),
        '',
        "0 (none beyond Node's own; ≤ 8 allowed for noise)",
        median(floorDiffs('total')) <= 8,
      ),
    );
  }
  const markdown = [
    '## Allocations per request',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after. JS heap bytes allocated per request over ` +
      `${allocRequests} requests (wrk -t1 -c${options.connections}, stopped by count, after 2 s of warm-up), from the ` +
      'heap sizes before and after every GC of the window (v8.GCProfiler, servers/gc-window.mjs); all spaces, and the ' +
      `young generation alone (new space: where short-lived per-request objects go). ${runs} run(s), a fresh process ` +
      'each, variants interleaved; medians, and the median (range) of the paired difference to the bare baseline.',
    '',
    table(
      ['app', 'variant', 'B/req', 'Δ vs bare', 'young B/req', 'Δ vs bare', 'scavenges per 100k req', 'major GCs'],
      rows,
      [, , 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    problems.length ? `wrk reported: ${problems.join('; ')}.` : 'wrk reported no socket errors and no non-2xx responses.',
    ...(sites
      ? [
          '',
          `Where mon's own bytes are allocated: V8's sampling heap profiler (16-byte interval, collected objects ` +
            `included) over ${PROFILED_REQUESTS} requests of a node:http mon server: ${fixed(sites.own, 1)} B/req were allocated ` +
            "with a frame of mon's bundle on the stack, by mon's function nearest to the allocation. The rest of mon's bytes " +
            "above the floor are allocated in Node's frames on mon's behalf, where a sampled profile cannot place them " +
            'reliably (inlining moves them between frames from one process to the next). Sampled: a few bytes either way are noise.',
          '',
          table(
            ["mon's function (and the allocating one, when another)", 'B/req'],
            sites.sites.filter((x) => x.bytes >= 0.5).slice(0, 8).map((x) => [`\`${x.site}\``, fixed(x.bytes, 1)]),
            [, 'r'],
          ),
        ]
      : []),
  ].join('\n');
  return section(markdown, summary);
}

await mainIf(import.meta, run);
