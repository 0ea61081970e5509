// Start-up cost: time from spawn() to the first successful HTTP response, bare and under each
// variant, and the cost of the preload alone on a script that does nothing (`node <preload> -e 0`,
// spawn to exit: a preload must neither slow a short script down nor keep it alive).
//
// Runs are interleaved (one start of every variant per run, the order rotated each run) and each
// variant is compared to its group's baseline of the same run. The first response is found by
// polling the app's port every millisecond from the moment of spawn, so the figure includes Node's
// own boot, the preload, the app's imports and listen(), with ~1 ms resolution. The apps run from
// a directory outside the repository, as a zero-code app without `@opentelemetry/api` would
// (outsideRepository() in lib/variants.mjs says why).
//
//   node test/bench/startup.mjs [--quick] [--runs 10] [--only mon,mon-cjs,otel]
import { setTimeout as sleep } from 'node:timers/promises';
import { describeCpu, MAX_OTHERS_PERCENT, undisturbed } from './lib/cpu.mjs';
import { mainIf } from './lib/options.mjs';
import { cleanEnv, freePort, get, spawnNode, stop } from './lib/process.mjs';
import { delta, fixed, load, machine, median, progress, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, outsideRepository, prepare, selectVariants } from './lib/variants.mjs';

/** Milliseconds from spawn to the first 200 answered on the app's port. */
async function timeToFirstResponse(variant) {
  const prepared = await prepare(variant, { outside: true });
  const t0 = performance.now();
  const proc = prepared.spawn();
  try {
    for (;;) {
      const ok = await get(prepared.url).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) return performance.now() - t0;
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${commandOf(variant)} exited before answering:\n${proc.stderr()}`);
      }
      if (performance.now() - t0 > 30_000) throw new Error(`${commandOf(variant)}: no response after 30 s`);
      await sleep(1);
    }
  } finally {
    await stop(proc);
  }
}

/** Milliseconds from spawn to exit of `node <preload> -e 0`. */
async function timeToExit(variant) {
  // The metrics endpoint starts as it would for an app (on a free port), and must not hold the exit.
  const env = cleanEnv({ OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) });
  const t0 = performance.now();
  const proc = spawnNode([...variant.nodeArgs, '-e', '0'], { env, cwd: outsideRepository() });
  const code = await proc.exited;
  const ms = performance.now() - t0;
  if (code !== 0 || proc.stderr()) throw new Error(`node ${variant.nodeArgs.join(' ')} -e 0 exited ${code}:\n${proc.stderr()}`);
  return ms;
}

export async function run(options) {
  const variants = selectVariants(options.only, { startup: true });
  // The preload alone: one row per distinct preload (the express variants repeat node:http's).
  const preloads = variants.filter((v) => v.group === 'node:http');
  const { runs } = options;
  const first = new Map(variants.map((v) => [v.id, []]));
  const exit = new Map(preloads.map((v) => [v.id, []]));
  const loadBefore = load();
  progress(`startup: ${runs} runs x ${variants.length} servers + ${preloads.length} empty scripts`);
  let retried = 0;
  const disturbed = [];
  const measure = async (variant, fn, what, i) => {
    const m = await undisturbed(() => fn(variant), {
      onRetry: (cpu) => progress(`  run ${i + 1}/${runs} ${variant.group} ${variant.name} ${what}: ${describeCpu(cpu)}, retrying`),
    });
    retried += m.retries;
    if (m.cpu.disturbed) disturbed.push(`run ${i + 1} ${variant.group} ${variant.name} ${what} (${describeCpu(m.cpu)})`);
    return m.value;
  };
  for (let i = 0; i < runs; i++) {
    for (const variant of variants.map((_, k) => variants[(k + i) % variants.length])) {
      first.get(variant.id)[i] = await measure(variant, timeToFirstResponse, 'first response', i);
    }
    for (const variant of preloads.map((_, k) => preloads[(k + i) % preloads.length])) {
      exit.get(variant.id)[i] = await measure(variant, timeToExit, '-e 0', i);
    }
    progress(
      `  run ${i + 1}/${runs}: ` +
        variants.map((v) => `${v.group} ${v.name} ${fixed(first.get(v.id)[i])} ms`).join(', '),
    );
  }

  const baselineOf = (variant, list) => list.find((v) => v.group === variant.group && v.baseline);
  const rowsFor = (list, samples) =>
    list.map((variant) => {
      const own = samples.get(variant.id);
      const base = samples.get(baselineOf(variant, list)?.id) ?? [];
      return [
        variant.group,
        variant.name,
        fixed(median(own), 1),
        variant.baseline ? '–' : delta(own.map((ms, i) => ms - base[i])),
      ];
    });
  const summary = [];
  const diffs = (variant, list, samples) => {
    const base = samples.get(baselineOf(variant, list).id);
    return samples.get(variant.id).map((ms, i) => ms - base[i]);
  };
  for (const [list, samples, what] of [
    [variants, first, 'spawn to first response'],
    [preloads, exit, '`node <preload> -e 0`'],
  ]) {
    for (const group of [...new Set(list.map((v) => v.group))]) {
      const mon = list.find((v) => v.group === group && v.name === 'mon');
      if (!mon) continue;
      const peers = list.filter((v) => v.group === group && !v.baseline && v !== mon);
      summary.push(
        summaryRow(
          `start-up Δ ms, ${what}, ${group}`,
          delta(diffs(mon, list, samples)),
          peers.map((p) => `${p.name} ${delta(diffs(p, list, samples))}`).join('; '),
          '≤ +40',
          median(diffs(mon, list, samples)) <= 40,
        ),
      );
    }
  }
  const markdown = [
    '## Start-up',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after. ${runs} runs, variants interleaved; ` +
      'medians, and the median (range) of the paired difference to the bare baseline of the same run.',
    '',
    'Spawn to first HTTP response (ms):',
    '',
    table(['app', 'variant', 'ms', 'Δ vs bare ms'], rowsFor(variants, first), [, , 'r', 'r']),
    '',
    'The preload alone, `node <preload> -e 0`, spawn to exit (ms):',
    '',
    table(['app', 'variant', 'ms', 'Δ vs bare ms'], rowsFor(preloads, exit), [, , 'r', 'r']),
    '',
    `${retried} measurement(s) retried because other processes used more than ${MAX_OTHERS_PERCENT}% of a core meanwhile` +
      (disturbed.length ? `; still disturbed after retries, kept: ${disturbed.join('; ')}.` : '; none kept disturbed.'),
  ].join('\n');
  return section(markdown, summary);
}

await mainIf(import.meta, run);
