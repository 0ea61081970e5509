// Memory over time: resident set size after --soak-requests requests (default 1 000 000), and its
// slope over a bounded soak at steady traffic (--soak-seconds, default 300). Goal (issue 8): no
// growth over a 5-minute soak. Not a timed test: it reports, and stops by itself.
//
// Part 1, RSS after N requests: each variant starts fresh, one after the other; VmRSS after its first
// response, then after 2 s of warm-up, N requests (wrk -t1 -c<connections>, stopped by count:
// lib/stop-after.lua) and one scrape of its metrics. RSS also moves as V8 grows its young generation
// under load (up to 2 × 16 MB of semi-spaces, sized by what survives), so every server runs with
// servers/heap-probe.mjs preloaded first: the JS heap in use after a full GC, after the warm-up and
// after the N requests, is what the program keeps, and the difference over N what stays per request.
//
// Part 2, the soak: all variants run at once, each under its own wrk -t1 -c10 for the whole soak (on
// a 2-core machine they share the CPUs, so each serves less than alone: what matters here is that the
// traffic is steady and the same for the whole run). The instrumented ones are scraped every 10 s,
// as Prometheus would. VmRSS is sampled every 10 s; the first 10 s are warm-up (heap growing to its
// working size) and are not fitted. The slope is a least-squares line through the other samples, in
// MB per minute; the slope of the second half alone is also given, as growth that is only the heap
// settling flattens there and a leak does not. The heap after a full GC is taken after the first
// sample past warm-up and after the last one.
//
//   node test/bench/soak.mjs [--quick] [--soak-requests 1000000] [--soak-seconds 300] [--only mon,otel]
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mainIf } from './lib/options.mjs';
import { get, rssBytes, waitForLine } from './lib/process.mjs';
import { delta, fixed, load, machine, median, progress, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, countedRequests, selectVariants, start } from './lib/variants.mjs';
import { wrk, wrkProblems } from './lib/wrk.mjs';

const MB = 1024 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
// With mon, part 1 also runs these, to tell what its RSS figure is made of (not soaked).
const RSS_PARTS = [
  {
    id: 'gc-floor',
    group: 'node:http',
    name: 'floor: bare + a no-op GC PerformanceObserver',
    script: 'hello.mjs',
    nodeArgs: ['--import', pathToFileURL(path.join(here, 'servers', 'gc-observer-floor.mjs')).href],
  },
  {
    id: 'mon-no-runtime',
    group: 'node:http',
    name: 'mon, MON_METRICS without runtime (no GC observer)',
    script: 'hello.mjs',
    nodeArgs: ['--import', '@mon/register'],
    env: { MON_METRICS: 'http,cpu,memory,disk,process' },
    metrics: { on: 'own', series: ['http_server_requests_total'] },
  },
];
const SAMPLE_SECONDS = 10;
const SOAK_CONNECTIONS = 10;
const HEAP_PROBE = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'servers', 'heap-probe.mjs')).href;

/** A variant started with servers/heap-probe.mjs preloaded first. */
const probed = (variant) => start({ ...variant, nodeArgs: ['--expose-gc', '--import', HEAP_PROBE, ...variant.nodeArgs] });

/** { used: the JS heap in use after a full GC, newSpace: V8's young generation } (servers/heap-probe.mjs), bytes. */
async function probeHeap(server) {
  const from = server.proc.stdout().length;
  server.proc.child.kill('SIGUSR2');
  return JSON.parse((await waitForLine(server.proc, /^heap-probe (\{.*\})$/m, from))[1]);
}

/** Resolves once the variant's metrics endpoint answers (polled for up to 15 s). */
async function endpointReady({ variant, server }) {
  for (const deadline = performance.now() + 15_000; ; ) {
    try {
      return await countedRequests(variant, server);
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Least-squares slope of y over x. */
function slope(points) {
  if (points.length < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return num / den;
}

async function afterRequests(variant, { soakRequests, connections }) {
  const server = await probed(variant);
  try {
    await get(server.url);
    const idle = rssBytes(server.pid);
    // Warm-up first (JIT code, per-route state), so the heap difference is what the requests left.
    await wrk(server.url, { seconds: 2, connections });
    const warm = await probeHeap(server);
    progress(`    ${variant.name}, after warm-up: ${JSON.stringify(warm)}`);
    const heapWarm = warm.used;
    const result = await wrk(server.url, { seconds: 3600, connections, requests: soakRequests });
    const count = await countedRequests(variant, server);
    if (count === 0) throw new Error(`${commandOf(variant)} counted 0 requests after ${result.requests} served`);
    const after = rssBytes(server.pid);
    const probe = await probeHeap(server);
    progress(`    ${variant.name}, after ${result.requests} requests: ${JSON.stringify(probe)}`);
    return {
      idle,
      after,
      heapWarm,
      heapAfter: probe.used,
      newSpace: probe.newSpace,
      requests: result.requests,
      seconds: result.requests / result.rps,
      problem: wrkProblems(result),
    };
  } finally {
    await server.stop();
  }
}

async function soak(variants, soakSeconds) {
  const running = [];
  try {
    for (const variant of variants) running.push({ variant, server: await probed(variant), samples: [] });
    for (const r of running) await get(r.server.url);
    // mon opens its endpoint a second after start (register/src/after-start-up.ts): the first
    // scrape, at the first sample, waits for it rather than failing the soak.
    for (const r of running) if (r.variant.metrics) await endpointReady(r);
    // wrk runs past the last sample and ends by itself: the soak is bounded even if this process dies.
    const loads = running.map((r) =>
      wrk(r.server.url, { seconds: SAMPLE_SECONDS + soakSeconds + 2, connections: SOAK_CONNECTIONS }),
    );
    const t0 = performance.now();
    for (let k = 0; k * SAMPLE_SECONDS <= SAMPLE_SECONDS + soakSeconds; k++) {
      await sleep(Math.max(0, t0 + k * SAMPLE_SECONDS * 1000 - performance.now()));
      const t = (performance.now() - t0) / 1000;
      for (const r of running) {
        if (r.variant.metrics) await countedRequests(r.variant, r.server);
        r.samples.push({ x: t, y: rssBytes(r.server.pid) });
        // After the first sample past warm-up (RSS read first: the full GC must not be in it).
        if (k === 1) {
          const probe = await probeHeap(r.server);
          progress(`    ${r.variant.name}, after warm-up: ${JSON.stringify(probe)}`);
          r.heapStart = probe.used;
        }
      }
      progress(`  soak ${fixed(t)} s: ` + running.map((r) => `${r.variant.name} ${fixed(r.samples.at(-1).y / MB, 1)} MB`).join(', '));
    }
    for (const r of running) {
      const probe = await probeHeap(r.server);
      progress(`    ${r.variant.name}, at the end: ${JSON.stringify(probe)}`);
      r.heapEnd = probe.used;
      r.newSpace = probe.newSpace;
    }
    const results = await Promise.all(loads);
    for (let i = 0; i < running.length; i++) {
      running[i].wrk = results[i];
      if (running[i].variant.metrics) await countedRequests(running[i].variant, running[i].server);
    }
    return running;
  } finally {
    await Promise.all(running.map((r) => r.server.stop()));
  }
}

export async function run(options) {
  // Default: the node:http group (bare, mon, the OTel peer); --only picks others.
  const variants = selectVariants(options.only.length ? options.only : ['mon', 'otel']);
  const { soakRequests, soakSeconds, connections } = options;
  const loadBefore = load();
  progress(`soak: RSS after ${soakRequests} requests for ${variants.length} servers, then a ${soakSeconds} s soak of all at once`);
  const after = new Map();
  const problems = [];
  const measured = variants.some((v) => v.id === 'mon') ? [...variants, ...RSS_PARTS] : variants;
  for (const variant of measured) {
    const m = await afterRequests(variant, options);
    after.set(variant.id, m);
    if (m.problem) problems.push(`${variant.group} ${variant.name}: ${m.problem}`);
    progress(`  ${variant.group} ${variant.name}: ${fixed(m.idle / MB, 1)} MB idle, ${fixed(m.after / MB, 1)} MB after ${m.requests} requests`);
  }
  const soaked = await soak(variants, soakSeconds);
  for (const r of soaked) {
    const problem = wrkProblems(r.wrk);
    if (problem) problems.push(`soak, ${r.variant.group} ${r.variant.name}: ${problem}`);
  }

  const baseOf = (variant) => variants.find((v) => v.group === variant.group && v.baseline);
  const afterRows = measured.map((variant) => {
    const m = after.get(variant.id);
    const base = after.get(baseOf(variant).id);
    return [
      variant.group,
      variant.name,
      fixed(m.idle / MB, 1),
      fixed(m.after / MB, 1),
      variant.baseline ? '–' : delta([(m.after - base.after) / MB]),
      `${fixed(m.heapWarm / MB, 2)} → ${fixed(m.heapAfter / MB, 2)}`,
      fixed((m.heapAfter - m.heapWarm) / m.requests, 2),
      fixed(m.newSpace / MB),
      String(m.requests),
      fixed(m.seconds, 1),
    ];
  });
  const soakRows = soaked.map((r) => {
    const fitted = r.samples.filter((p) => p.x >= SAMPLE_SECONDS - 0.5);
    const secondHalf = fitted.filter((p) => p.x >= SAMPLE_SECONDS + soakSeconds / 2 - 0.5);
    const perMinute = (points) => (slope(points) * 60) / MB;
    const ys = fitted.map((p) => p.y / MB);
    const sign = (v) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '–');
    return [
      r.variant.group,
      r.variant.name,
      fixed(ys[0], 1),
      fixed(ys.at(-1), 1),
      fixed(Math.max(...ys), 1),
      sign(perMinute(fitted)),
      sign(perMinute(secondHalf)),
      `${fixed(r.heapStart / MB, 2)} → ${fixed(r.heapEnd / MB, 2)}`,
      fixed(r.newSpace / MB),
      fixed(r.wrk.rps),
      String(r.wrk.requests),
    ];
  });
  const summary = [];
  for (const group of [...new Set(variants.map((v) => v.group))]) {
    const mon = variants.find((v) => v.group === group && v.name === 'mon');
    if (!mon) continue;
    const base = after.get(baseOf(mon).id);
    const peers = variants.filter((v) => v.group === group && !v.baseline && v !== mon);
    const diff = (v) => (after.get(v.id).after - base.after) / MB;
    summary.push(
      summaryRow(
        `RSS Δ MB after ${soakRequests} requests, ${group}`,
        delta([diff(mon)]),
        peers.map((p) => `${p.name} ${delta([diff(p)])}`).join('; '),
        '≤ +10',
        diff(mon) <= 10,
      ),
    );
    if (group === 'node:http' && after.has('gc-floor') && after.has('mon-no-runtime')) {
      const newSpace = (id) => fixed(after.get(id).newSpace / MB);
      summary.push(
        summaryRow(
          `RSS Δ MB after ${soakRequests} requests (young generation MB): what grows V8's young generation, ${group}`,
          `mon without the runtime group ${delta([diff({ id: 'mon-no-runtime' })])} (${newSpace('mon-no-runtime')}); mon ${newSpace(mon.id)}`,
          `bare + a no-op GC observer ${delta([diff({ id: 'gc-floor' })])} (${newSpace('gc-floor')}); bare ${newSpace(baseOf(mon).id)}`,
        ),
      );
    }
    const retained = (v) => {
      const m = after.get(v.id);
      return (m.heapAfter - m.heapWarm) / m.requests;
    };
    // Bare keeps a little too (JIT feedback, code): the goal is to keep no more than it, within
    // 0.5 B/req (0.5 MB per million requests).
    const bare = baseOf(mon);
    summary.push(
      summaryRow(
        `JS heap retained per request (after a full GC), B/req over ${soakRequests} requests, ${group}`,
        fixed(retained(mon), 2),
        variants.filter((v) => v !== mon).map((v) => `${v.name} ${fixed(retained(v), 2)}`).join('; '),
        "no growth (≤ bare's + 0.5)",
        retained(mon) <= retained(bare) + 0.5,
      ),
    );
    const slopes = (v) => {
      const r = soaked.find((x) => x.variant === v);
      const row = soakRows[soaked.indexOf(r)];
      return `${row[5]} (2nd half ${row[6]})`;
    };
    // Shorter than the 5 minutes of the goal, the slope is mostly the heap settling: no verdict.
    const judged = soakSeconds >= 300;
    const monSoak = soaked.find((x) => x.variant === mon);
    summary.push(
      summaryRow(
        `RSS slope MB/min over a ${soakSeconds} s soak, ${group}`,
        slopes(mon),
        variants.filter((v) => v !== mon).map((v) => `${v.name} ${slopes(v)}`).join('; '),
        judged ? 'no growth (2nd half ≤ +0.1)' : 'no growth (judged on a 300 s soak)',
        judged ? (slope(monSoak.samples.filter((p) => p.x >= SAMPLE_SECONDS + soakSeconds / 2 - 0.5)) * 60) / MB <= 0.1 : undefined,
      ),
    );
  }
  const markdown = [
    '## Soak',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after.`,
    '',
    `RSS (MB, 2^20 bytes) idle, and after 2 s of warm-up, ${soakRequests} requests (wrk -t1 -c${connections}, stopped by ` +
      'count) and one scrape; one fresh process per variant, one run. Heap after GC: the JS heap in use after a full GC ' +
      '(servers/heap-probe.mjs), after the warm-up → after the requests, and what stayed per request; new space: the ' +
      "size V8 had given its young generation at the end (part of RSS, grown under load by V8's own heuristics). " +
      'With mon come two rows that say what its figure is made of: bare plus a no-op PerformanceObserver on GC ' +
      "entries (servers/gc-observer-floor.mjs; mon's v8js.gc.duration observes them), and mon without its runtime " +
      'group, which holds that observer.',
    '',
    table(
      ['app', 'variant', 'RSS idle', `RSS after ${soakRequests} req`, 'Δ vs bare', 'heap after GC MB', 'retained B/req', 'new space MB', 'requests', 'load s'],
      afterRows,
      [, , 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `Soak: all variants at once for ${soakSeconds} s after ${SAMPLE_SECONDS} s of warm-up, each under its own wrk -t1 ` +
      `-c${SOAK_CONNECTIONS}, the instrumented ones scraped every ${SAMPLE_SECONDS} s; RSS sampled every ${SAMPLE_SECONDS} s ` +
      '(MB). Slope: least-squares fit over the samples after warm-up, and over the second half alone, in MB per minute. ' +
      'Heap after GC: after warm-up → after the last sample; new space: at the end.',
    '',
    table(
      ['app', 'variant', 'RSS first', 'RSS last', 'RSS max', 'slope MB/min', '2nd half MB/min', 'heap after GC MB', 'new space MB', 'req/s', 'requests'],
      soakRows,
      [, , 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    problems.length ? `wrk reported: ${problems.join('; ')}.` : 'wrk reported no socket errors and no non-2xx responses.',
  ].join('\n');
  return section(markdown, summary);
}

await mainIf(import.meta, run);
