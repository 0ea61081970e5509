// Memory: resident set size (VmRSS from /proc/<pid>/status) of each variant's server once it has
// answered its first request, and again after a load round (wrk -t1 -c50 for --seconds) and one
// scrape of its metrics, the state a scraped production server is in. RSS, not heap: it is what a
// container limit sees, and it includes what a preload adds outside the JS heap (a loader-hook
// thread, for instance).
//
// Runs are interleaved (one fresh process per variant per run, the order rotated each run); each
// variant is compared to its group's bare baseline of the same run.
//
//   node test/bench/memory.mjs [--quick] [--memory-runs 3] [--seconds 5] [--only mon,otel]
import { mainIf } from './lib/options.mjs';
import { get, rssBytes } from './lib/process.mjs';
import { delta, fixed, load, machine, median, progress, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, countedRequests, selectVariants, start } from './lib/variants.mjs';
import { wrk } from './lib/wrk.mjs';

const MB = 1024 * 1024;

async function measure(variant, { seconds, connections }) {
  const server = await start(variant);
  try {
    await get(server.url);
    const idle = rssBytes(server.pid);
    const result = await wrk(server.url, { seconds, connections });
    const count = await countedRequests(variant, server);
    if (count === 0) throw new Error(`${commandOf(variant)} counted 0 requests after ${result.requests} served`);
    return { idle, loaded: rssBytes(server.pid), requests: result.requests };
  } finally {
    await server.stop();
  }
}

export async function run(options) {
  const variants = selectVariants(options.only);
  const { memoryRuns: runs, seconds, connections } = options;
  const samples = new Map(variants.map((v) => [v.id, []]));
  const loadBefore = load();
  progress(`memory: ${runs} runs x ${variants.length} servers, ${seconds} s of load each`);
  for (let i = 0; i < runs; i++) {
    for (const variant of variants.map((_, k) => variants[(k + i) % variants.length])) {
      const m = await measure(variant, options);
      samples.get(variant.id)[i] = m;
      progress(
        `  run ${i + 1}/${runs} ${variant.group} ${variant.name}: ${fixed(m.idle / MB, 1)} MB idle, ` +
          `${fixed(m.loaded / MB, 1)} MB after ${m.requests} requests`,
      );
    }
  }

  const rows = variants.map((variant) => {
    const own = samples.get(variant.id);
    const base = samples.get(variants.find((v) => v.group === variant.group && v.baseline).id);
    const diff = (pick) => (variant.baseline ? '–' : delta(own.map((m, i) => (pick(m) - pick(base[i])) / MB)));
    return [
      variant.group,
      variant.name,
      fixed(median(own.map((m) => m.idle)) / MB, 1),
      diff((m) => m.idle),
      fixed(median(own.map((m) => m.loaded)) / MB, 1),
      diff((m) => m.loaded),
      fixed(median(own.map((m) => m.requests))),
    ];
  });
  const summary = [];
  for (const group of [...new Set(variants.map((v) => v.group))]) {
    const mon = variants.find((v) => v.group === group && v.name === 'mon');
    if (!mon) continue;
    const base = samples.get(variants.find((v) => v.group === group && v.baseline).id);
    const diffs = (variant, pick) => samples.get(variant.id).map((m, i) => (pick(m) - pick(base[i])) / MB);
    const peers = variants.filter((v) => v.group === group && !v.baseline && v !== mon);
    for (const [what, pick] of [
      ['idle', (m) => m.idle],
      ['after load', (m) => m.loaded],
    ]) {
      summary.push(
        summaryRow(
          `RSS Δ MB ${what}, ${group}`,
          delta(diffs(mon, pick)),
          peers.map((p) => `${p.name} ${delta(diffs(p, pick))}`).join('; '),
          '≤ +10',
          median(diffs(mon, pick)) <= 10,
        ),
      );
    }
  }
  const markdown = [
    '## Memory',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after. RSS in MB (2^20 bytes): after the ` +
      `first response, and after ${seconds} s of wrk -t1 -c${connections} plus one scrape; ${runs} run(s), ` +
      'variants interleaved; medians, and the median (range) of the paired difference to the bare baseline.',
    '',
    table(
      ['app', 'variant', 'RSS idle', 'Δ vs bare', 'RSS after load', 'Δ vs bare', 'requests'],
      rows,
      [, , 'r', 'r', 'r', 'r', 'r'],
    ),
  ].join('\n');
  return section(markdown, summary);
}

await mainIf(import.meta, run);
