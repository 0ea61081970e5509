// HTTP throughput and p99 latency of the same hello-world server, bare and under each preload or
// middleware (lib/variants.mjs), on the same load: wrk -t1 -c50 from a second process on loopback.
//
// All servers run for the whole bench; rounds are interleaved (every variant once per round, the
// order rotated each round so no variant always follows the same one), and each variant is compared
// to its group's bare baseline *of the same round*: the ratio survives drift of the machine (thermal,
// neighbours) that absolute req/s do not. A measurement during which other processes took CPU is
// retried (lib/cpu.mjs). After every round each instrumented variant is scraped: no count at all
// stops the bench (a broken setup that records nothing would look like the fastest one), fewer
// requests counted than wrk saw answered is marked **short** in the table.
//
//   node test/bench/http-throughput.mjs [--quick] [--rounds 5] [--seconds 5] [--only mon,otel]
import { cpuSeconds, describeCpu, MAX_OTHERS_PERCENT, reapedChildrenCpuSeconds, undisturbed } from './lib/cpu.mjs';
import { mainIf } from './lib/options.mjs';
import { delta, fixed, load, machine, median, progress, ratio, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, countedRequests, selectVariants, start } from './lib/variants.mjs';
import { wrk, wrkProblems } from './lib/wrk.mjs';

export async function run(options) {
  const variants = selectVariants(options.only);
  const { rounds, seconds, warmup, connections } = options;
  const running = new Map();
  const samples = new Map(variants.map((v) => [v.id, []]));
  const served = new Map(variants.map((v) => [v.id, 0]));
  const counted = new Map();
  const problems = [];
  const disturbed = [];
  let retried = 0;
  const loadBefore = load();
  progress(`http-throughput: ${variants.length} servers, ${rounds} rounds x (${warmup} s warm-up + ${seconds} s)`);
  try {
    for (const variant of variants) running.set(variant.id, await start(variant));
    for (let round = 0; round < rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const variant of order) {
        const server = running.get(variant.id);
        const warm = warmup > 0 ? await wrk(server.url, { seconds: warmup, connections }) : null;
        served.set(variant.id, served.get(variant.id) + (warm?.requests ?? 0));
        const measured = await undisturbed(
          async () => {
            const serverCpu = cpuSeconds(server.pid);
            const wrkCpu = reapedChildrenCpuSeconds();
            const r = await wrk(server.url, { seconds, connections });
            served.set(variant.id, served.get(variant.id) + r.requests);
            r.serverUsPerRequest = ((cpuSeconds(server.pid) - serverCpu) * 1e6) / r.requests;
            r.wrkCpuPercent = ((reapedChildrenCpuSeconds() - wrkCpu) * 100) / seconds;
            return r;
          },
          {
            pids: [...running.values()].map((s) => s.pid),
            onRetry: (cpu) => progress(`  round ${round + 1}/${rounds} ${variant.group} ${variant.name}: ${describeCpu(cpu)}, retrying`),
          },
        );
        const result = measured.value;
        retried += measured.retries;
        if (measured.cpu.disturbed) disturbed.push(`round ${round + 1} ${variant.group} ${variant.name} (${describeCpu(measured.cpu)})`);
        samples.get(variant.id)[round] = result;
        for (const r of [warm, result]) {
          const problem = r && wrkProblems(r);
          if (problem) problems.push(`round ${round + 1}, ${variant.group} ${variant.name}: ${problem}`);
        }
        const count = await countedRequests(variant, server);
        if (count !== null) {
          if (count === 0) throw new Error(`${commandOf(variant)} counted 0 requests after ${served.get(variant.id)} served`);
          counted.set(variant.id, count);
        }
        progress(
          `  round ${round + 1}/${rounds} ${variant.group} ${variant.name}: ${fixed(result.rps)} req/s, ` +
            `p99 ${fixed(result.p99Ms, 2)} ms${count === null ? '' : `, counted ${count}/${served.get(variant.id)}`}`,
        );
      }
    }
  } finally {
    await Promise.all([...running.values()].map((server) => server.stop()));
  }

  const rows = variants.map((variant) => {
    const own = samples.get(variant.id);
    const base = samples.get(variants.find((v) => v.group === variant.group && v.baseline).id);
    const paired = (pick) => own.map((r, i) => pick(r) / pick(base[i]));
    const count = counted.get(variant.id);
    const total = served.get(variant.id);
    return [
      variant.group,
      variant.name,
      fixed(median(own.map((r) => r.rps))),
      variant.baseline ? '1' : ratio(paired((r) => r.rps)),
      fixed(median(own.map((r) => r.p99Ms)), 2),
      variant.baseline ? '1' : ratio(paired((r) => r.p99Ms)),
      variant.baseline ? '–' : delta(own.map((r, i) => r.p99Ms - base[i].p99Ms), 2),
      fixed(median(own.map((r) => r.serverUsPerRequest)), 1),
      variant.baseline ? '1' : ratio(paired((r) => r.serverUsPerRequest)),
      count === undefined ? '–' : `${count} / ${total}${count < total ? ' **short**' : ''}`,
    ];
  });
  // Summary: mon and the peers of each group, as ratios (and p99 difference) to the group's bare.
  const pairedTo = (variant, pick) => {
    const own = samples.get(variant.id);
    const base = samples.get(variants.find((v) => v.group === variant.group && v.baseline).id);
    return own.map((r, i) => pick(r, base[i]));
  };
  const summary = [];
  for (const group of [...new Set(variants.map((v) => v.group))]) {
    const mon = variants.find((v) => v.group === group && v.name === 'mon');
    if (!mon) continue;
    const peers = variants.filter((v) => v.group === group && !v.baseline && v !== mon);
    const figure = (pick, text) => [text(pairedTo(mon, pick)), peers.map((p) => `${p.name} ${text(pairedTo(p, pick))}`).join('; ')];
    const rps = (r, b) => r.rps / b.rps;
    summary.push(
      summaryRow(
        `throughput × bare, ${group}${group.startsWith('proxy') ? '' : ' hello world'}`,
        ...figure(rps, ratio),
        // No goal and no verdict on req/s: on this shared machine a Node 24 hello world reads 0.68-1.14×
        // bare from one round to the next, so the verdict on what a request costs is the instruction
        // count (instructions.mjs, goal ≤ 1.03 × bare), which no other load can move.
        '',
        undefined,
      ),
      summaryRow(`p99 latency Δ ms at saturation, ${group}`, ...figure((r, b) => r.p99Ms - b.p99Ms, (v) => delta(v, 2))),
      summaryRow(`CPU per request × bare, ${group}`, ...figure((r, b) => r.serverUsPerRequest / b.serverUsPerRequest, ratio)),
    );
  }
  const header = ['app', 'variant', 'req/s', '× bare', 'p99 ms', '× bare', 'Δ p99 ms', 'CPU µs/req', '× bare', 'counted / served'];
  const wrkBusy = variants.flatMap((v) => samples.get(v.id).filter((r) => r.wrkCpuPercent > 90).map(() => `${v.group} ${v.name}`));
  const markdown = [
    '## HTTP throughput',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after. wrk -t1 -c${connections} on loopback; ` +
      `${rounds} rounds × ${seconds} s, each after ${warmup} s of warm-up; variants interleaved. ` +
      'req/s and p99 are medians over rounds; × bare and Δ are the median (range) over rounds of the ' +
      'ratio or difference to the bare server of the same round. CPU µs/req: the server process\'s user + ' +
      'system CPU time over the requests it answered in the round.',
    '',
    table(header, rows, [, , 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']),
    '',
    ...variants.map((v) => `- ${v.group} ${v.name}: \`${commandOf(v)}\``),
    '',
    wrkBusy.length
      ? `**wrk used more than 90% of its core in some rounds (${[...new Set(wrkBusy)].join(', ')}): the load generator, not the server, may have set the pace there.**`
      : 'wrk stayed below 90% of its core in every round: the servers set the pace.',
    problems.length ? `wrk reported: ${problems.join('; ')}.` : 'wrk reported no socket errors and no non-2xx responses.',
    `${retried} measurement(s) retried because other processes used more than ${MAX_OTHERS_PERCENT}% of a core meanwhile` +
      (disturbed.length ? `; still disturbed after retries, kept: ${disturbed.join('; ')}.` : '; none kept disturbed.'),
  ].join('\n');
  return section(markdown, summary);
}

await mainIf(import.meta, run);
