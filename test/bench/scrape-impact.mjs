// What a scrape does to the app it runs in: an app under `--import @mon/register` holding --series
// custom series (servers/many-series.mjs, default 10 000) is put under steady wrk load while a
// scraper GETs its /metrics every 100 ms, and the app's event-loop delay and request latency are
// compared with the same load unscraped. Goal (issue 8): no scrape blocks the loop for more than 10 ms.
//
// Each round runs four phases of --seconds each, the order rotated every round, on one app process:
//   load           wrk -t1 -c<connections>, no scraper
//   load + scrape  the same load, and a scraper (this process) every 100 ms on a keep-alive connection
//   idle           nothing: the control for the next one
//   idle + scrape  the scraper alone: the loop has nothing else to do, so its long delays are the
//                  scrapes (or a GC pause, or the OS: the app reports its GC pauses too)
// The app measures its own loop (monitorEventLoopDelay, 1 ms resolution, reset per phase); the
// scraper also reads mon's own nodejs_eventloop_delay_max_seconds from every scrape (the largest
// delay since the previous collection), as a cross-check. A phase is retried when other processes
// took CPU meanwhile (lib/cpu.mjs).
//
// Then: a CPU profile of the app over --seconds of idle scraping (the V8 profiler, as --cpu-prof, but
// started and stopped around the scrapes; servers/many-series.mjs), summarised by source (the bundle
// mapped back through its source maps: lib/cpuprofile.mjs), by function, and by busy stretch (how
// long the loop was held at a time); and the app's RSS with the series against the same app with
// none and without the preload. BENCH_CPU_PROFILE=file.cpuprofile keeps the raw profile.
//
//   node test/bench/scrape-impact.mjs [--quick] [--rounds 5] [--seconds 5] [--series 10000]
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeCpu, MAX_OTHERS_PERCENT, undisturbed } from './lib/cpu.mjs';
import { summarize } from './lib/cpuprofile.mjs';
import { mainIf } from './lib/options.mjs';
import { get, rssBytes, timedGet } from './lib/process.mjs';
import { delta, fixed, load, machine, median, progress, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, countedRequests, start } from './lib/variants.mjs';
import { wrk, wrkProblems } from './lib/wrk.mjs';

const INTERVAL_MS = 100;
const GOAL_MS = 10;
const MB = 1024 * 1024;
const PHASES = [
  { id: 'load', name: 'load', load: true, scrape: false },
  { id: 'both', name: 'load + scrape every 100 ms', load: true, scrape: true },
  { id: 'idle', name: 'idle', load: false, scrape: false },
  { id: 'scrape', name: 'idle + scrape every 100 ms', load: false, scrape: true },
];
const MON_DELAY_MAX = /^nodejs_eventloop_delay_max_seconds(?:\{[^}\n]*\})? (\S+)$/m;

const app = (series, nodeArgs, name) => ({
  id: name,
  group: 'scrape-impact',
  name,
  script: 'many-series.mjs',
  nodeArgs,
  env: { BENCH_SERIES: String(series) },
  ...(nodeArgs.length ? { metrics: { on: 'own', series: ['http_server_requests_total'] } } : {}),
});

/** Scrapes `url` every INTERVAL_MS (never two at once) until stopped; resolves with every scrape. */
function startScraper(url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const scrapes = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const r = await timedGet(url, agent);
      if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
      const monMax = MON_DELAY_MAX.exec(r.body);
      scrapes.push({ ms: r.ms, bytes: r.bytes, monMaxMs: monMax ? Number(monMax[1]) * 1000 : NaN });
      const wait = t0 + INTERVAL_MS - performance.now();
      if (wait > 0 && !stopped) await sleep(wait);
    }
  })();
  return async () => {
    stopped = true;
    await running;
    agent.destroy();
    return scrapes;
  };
}

async function appStats(server) {
  const res = await get(`${server.url}__bench/stats`);
  if (res.status !== 200) throw new Error(`stats answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body);
}

async function runPhase(server, phase, { seconds, connections }) {
  await appStats(server); // reset
  const stopScraper = phase.scrape ? startScraper(server.metricsUrl) : null;
  const result = phase.load ? await wrk(server.url, { seconds, connections }) : await sleep(seconds * 1000);
  const scrapes = stopScraper ? await stopScraper() : [];
  const stats = await appStats(server);
  return { wrk: result, scrapes, stats };
}

/** The app's RSS after 2 s of load and one scrape, as memory.mjs measures it. */
async function rssAfterLoad(variant, connections) {
  const server = await start(variant);
  try {
    await get(server.url);
    await wrk(server.url, { seconds: 2, connections });
    if (variant.metrics) await countedRequests(variant, server);
    return rssBytes(server.pid);
  } finally {
    await server.stop();
  }
}

export async function run(options) {
  const { rounds, seconds, warmup, connections, series } = options;
  const mon = app(series, ['--import', '@mon/register'], `mon, ${series} custom series`);
  const loadBefore = load();
  const samples = new Map(PHASES.map((p) => [p.id, []]));
  const problems = [];
  const disturbed = [];
  let retried = 0;
  let profile;
  let seriesSeen;
  progress(`scrape-impact: ${rounds} rounds x ${PHASES.length} phases x ${seconds} s, ${series} custom series`);
  const server = await start(mon);
  try {
    // Warm-up: the JIT on the request path and on a scrape of this size.
    await wrk(server.url, { seconds: Math.max(1, warmup), connections });
    const first = await get(server.metricsUrl);
    seriesSeen = { app: sampleLines(first.body, 'app_'), all: sampleLines(first.body, '') };
    if (seriesSeen.app < series) {
      throw new Error(`${commandOf(mon)}: ${seriesSeen.app} app_* series on /metrics, expected ${series}: the custom series were not recorded`);
    }
    const stopWarm = startScraper(server.metricsUrl);
    await sleep(1000);
    await stopWarm();

    for (let round = 0; round < rounds; round++) {
      for (const phase of PHASES.map((_, i) => PHASES[(i + round) % PHASES.length])) {
        const m = await undisturbed(() => runPhase(server, phase, options), {
          pids: [server.pid],
          onRetry: (cpu) => progress(`  round ${round + 1}/${rounds} ${phase.name}: ${describeCpu(cpu)}, retrying`),
        });
        retried += m.retries;
        if (m.cpu.disturbed) disturbed.push(`round ${round + 1} ${phase.name} (${describeCpu(m.cpu)})`);
        const r = m.value;
        const problem = r.wrk && wrkProblems(r.wrk);
        if (problem) problems.push(`round ${round + 1}, ${phase.name}: ${problem}`);
        samples.get(phase.id)[round] = r;
        progress(
          `  round ${round + 1}/${rounds} ${phase.name}: loop delay max ${fixed(r.stats.maxMs, 1)} ms, p99 ${fixed(r.stats.p99Ms, 2)} ms` +
            (r.wrk ? `; ${fixed(r.wrk.rps)} req/s, p99 ${fixed(r.wrk.p99Ms, 2)} ms` : '') +
            (r.scrapes.length ? `; ${r.scrapes.length} scrapes, median ${fixed(median(r.scrapes.map((s) => s.ms)), 1)} ms` : ''),
        );
      }
    }

    // Where the time goes: profile the idle app while it is scraped.
    await get(`${server.url}__bench/profile/start`);
    const stopScraper = startScraper(server.metricsUrl);
    await sleep(seconds * 1000);
    const scrapes = await stopScraper();
    const res = await get(`${server.url}__bench/profile/stop`);
    // BENCH_CPU_PROFILE=file.cpuprofile keeps the raw profile (Chrome DevTools and VS Code open it).
    if (process.env.BENCH_CPU_PROFILE) writeFileSync(process.env.BENCH_CPU_PROFILE, res.body);
    profile = { summary: summarize(JSON.parse(res.body)), scrapes: scrapes.length };
  } finally {
    await server.stop();
  }

  const rss = [];
  const rssVariants = [
    app(series, [], 'the same app without a preload (no series: the API is a no-op)'),
    app(0, ['--import', '@mon/register'], 'mon, no custom series'),
    mon,
  ];
  for (let i = 0; i < options.memoryRuns; i++) {
    for (const v of rssVariants.map((_, k) => rssVariants[(k + i) % rssVariants.length])) {
      (rss[rssVariants.indexOf(v)] ??= []).push(await rssAfterLoad(v, connections));
    }
  }

  const all = (id) => samples.get(id).filter(Boolean);
  const med = (id, pick) => median(all(id).map(pick));
  const worst = (id, pick) => Math.max(...all(id).map(pick));
  const total = (id, pick) => all(id).reduce((sum, r) => sum + pick(r), 0);
  const scrapeMs = (id) => all(id).flatMap((r) => r.scrapes.map((s) => s.ms));
  const monMax = (id) => all(id).flatMap((r) => r.scrapes.map((s) => s.monMaxMs)).filter(Number.isFinite);
  const rows = PHASES.map((p) => [
    p.name,
    p.load ? fixed(med(p.id, (r) => r.wrk.rps)) : '–',
    p.load ? fixed(med(p.id, (r) => r.wrk.p99Ms), 2) : '–',
    `${fixed(med(p.id, (r) => r.stats.maxMs), 1)} (${fixed(worst(p.id, (r) => r.stats.maxMs), 1)})`,
    fixed(med(p.id, (r) => r.stats.p99Ms), 2),
    String(total(p.id, (r) => r.stats.over10)),
    fixed(worst(p.id, (r) => r.stats.gc.maxMs), 1),
    fixed(med(p.id, (r) => r.stats.utilization), 2),
    p.scrape ? String(scrapeMs(p.id).length) : '–',
    p.scrape ? `${fixed(median(scrapeMs(p.id)), 1)} / ${fixed(Math.max(...scrapeMs(p.id)), 1)}` : '–',
    p.scrape ? fixed(Math.max(...monMax(p.id)), 1) : '–',
  ]);
  const loadP99 = (id) => median(all(id).map((r) => r.wrk.p99Ms));
  const paired = all('both').map((r, i) => r.wrk.p99Ms - samples.get('load')[i].wrk.p99Ms);
  const scrapes = scrapeMs('scrape').length;
  const longDelays = total('scrape', (r) => r.stats.over10);
  const bytes = median(all('scrape').flatMap((r) => r.scrapes.map((s) => s.bytes)));
  const s = profile.summary;
  const perScrape = (ms) => ms / profile.scrapes;
  // What a scrape holds the loop for is the loop delay the app measured while scraped: the body is
  // written a chunk per event-loop turn, so a scrape is several short turns, and the profile's busy
  // stretches (no idle sample between two turns) would add them up.
  const longestScraped = worst('scrape', (r) => r.stats.maxMs);
  const goalMet = longestScraped <= GOAL_MS;

  const rssOf = (i) => median(rss[i]) / MB;
  const summary = [
    summaryRow(
      `event loop delay of an app scraped every ${INTERVAL_MS} ms at ${seriesSeen.all} series, ms: longest (p99)`,
      `${fixed(longestScraped, 1)} (${fixed(med('scrape', (r) => r.stats.p99Ms), 2)})`,
      `unscraped: ${fixed(worst('idle', (r) => r.stats.maxMs), 1)} (${fixed(med('idle', (r) => r.stats.p99Ms), 2)})`,
      `≤ ${GOAL_MS}, every scrape`,
      goalMet,
    ),
    summaryRow(
      `request p99 Δ ms under load, scraped every ${INTERVAL_MS} ms vs not, ${seriesSeen.all} series`,
      delta(paired, 2),
    ),
    summaryRow(`RSS Δ MB of ${series} custom series under mon`, `+${fixed(rssOf(2) - rssOf(1), 1)}`),
  ];
  const markdown = [
    '## Scrape impact',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after. \`${commandOf(mon)}\` with ` +
      `BENCH_SERIES=${series}: ${seriesSeen.app} custom series (${seriesSeen.all} on /metrics in all, ` +
      `${fixed(bytes / 1024)} KiB per scrape). ${rounds} rounds × ${PHASES.length} phases × ${seconds} s, phases interleaved; ` +
      `wrk -t1 -c${connections}; the scraper GETs /metrics every ${INTERVAL_MS} ms on a keep-alive connection. ` +
      "Loop delay: the app's own monitorEventLoopDelay (1 ms resolution, resolution subtracted), per phase: " +
      'median over rounds (worst round); delays > 10 ms: how many samples, all rounds together; GC: the longest ' +
      "pause any round saw. Scrape ms: client-side, request to last byte. mon's own: the largest " +
      'nodejs_eventloop_delay_max_seconds any scrape reported.',
    '',
    table(
      ['phase', 'req/s', 'request p99 ms', 'loop delay max ms', 'loop delay p99 ms', 'delays > 10 ms', 'longest GC ms', 'loop busy', 'scrapes', 'scrape ms median / max', "mon's own delay max ms"],
      rows,
      [, 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `- **The longest event-loop delay of the idle app scraped every ${INTERVAL_MS} ms was ${fixed(longestScraped, 1)} ms** ` +
      `(${scrapes} scrapes of ${seriesSeen.all} series; ${longDelays} delay sample(s) over 10 ms; p99 ` +
      `${fixed(med('scrape', (r) => r.stats.p99Ms), 2)} ms). Unscraped, the same idle app: longest ` +
      `${fixed(worst('idle', (r) => r.stats.maxMs), 1)} ms, ${total('idle', (r) => r.stats.over10)} over 10 ms: this ` +
      `machine's own noise. A scrape costs ${fixed(perScrape(s.busyMs), 2)} ms of CPU (profile below), spread over ` +
      `several event-loop turns: the collection and the text in one, then the body a 64 KiB chunk per turn. ` +
      (goalMet ? `Goal ≤ ${GOAL_MS} ms: met.` : `**Goal ≤ ${GOAL_MS} ms: missed** (see below for where the time goes).`),
    `- Request p99 under load: ${fixed(loadP99('load'), 2)} ms unscraped, ${fixed(loadP99('both'), 2)} ms scraped ` +
      `(paired difference ${fixed(median(paired), 2)} ms, range ${fixed(Math.min(...paired), 2)}…${fixed(Math.max(...paired), 2)}); ` +
      `throughput ${fixed(median(all('both').map((r, i) => r.wrk.rps / samples.get('load')[i].wrk.rps)), 2)}× unscraped.`,
    problems.length ? `- wrk reported: ${problems.join('; ')}.` : '- wrk reported no socket errors and no non-2xx responses.',
    `- ${retried} phase(s) retried because other processes used more than ${MAX_OTHERS_PERCENT}% of a core meanwhile` +
      (disturbed.length ? `; still disturbed after retries, kept: ${disturbed.join('; ')}.` : '; none kept disturbed.'),
    '',
    `Where a scrape's time goes: V8 CPU profile of the idle app over ${profile.scrapes} scrapes (100 µs sampling), ` +
      `${fixed(perScrape(s.busyMs), 2)} ms on the CPU per scrape. By owner (the nearest mon, OpenTelemetry or app ` +
      "frame on the stack: Node's and V8's work is charged to the code that called it):",
    '',
    table(
      ['owner', 'ms per scrape', 'share'],
      s.areas.filter((a) => a.share >= 0.005).map((a) => [a.area, fixed(perScrape(a.ms), 2), `${fixed(a.share * 100, 1)}%`]),
      [, 'r', 'r'],
    ),
    '',
    'Top functions by self time:',
    '',
    table(
      ['function', 'where', 'called from', 'ms per scrape', 'share'],
      s.functions
        .slice(0, 12)
        .map((f) => [`\`${f.name}\``, f.where ? `\`${f.where}\`` : f.area, f.calledBy ? `\`${f.calledBy}\`` : '', fixed(perScrape(f.ms), 3), `${fixed(f.share * 100, 1)}%`]),
      [, , , 'r', 'r'],
    ),
    '',
    `RSS after 2 s of wrk load and one scrape (MB, median of ${options.memoryRuns} fresh start(s) each):`,
    '',
    table(
      ['app', 'RSS MB', 'Δ MB'],
      rssVariants.map((v, i) => [
        i === 0 ? `\`node test/bench/servers/many-series.mjs\`, ${v.name}` : v.name,
        fixed(median(rss[i]) / MB, 1),
        i === 0
          ? '–'
          : `+${fixed((median(rss[i]) - median(rss[0])) / MB, 1)} vs no preload` +
            (i === 2 ? `, +${fixed((median(rss[2]) - median(rss[1])) / MB, 1)} vs no series` : ''),
      ]),
      [, 'r', 'r'],
    ),
  ].join('\n');
  return section(markdown, summary);
}

/** How many sample lines have a name starting with `prefix`. */
function sampleLines(text, prefix) {
  let n = 0;
  for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#') && line.startsWith(prefix)) n++;
  return n;
}

await mainIf(import.meta, run);
