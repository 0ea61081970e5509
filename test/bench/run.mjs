// `npm run bench`: every bench in turn, each printing its markdown table as it finishes.
// Progress goes to stderr, tables to stdout: `npm run bench > results.md` keeps the report only.
// `--save` also writes the whole report to test/bench/RESULTS.md. See test/bench/README.md.
//
//   npm run bench                  the full run (about 17 minutes on 2 cores, 5 of them the soak; more when
//                                  retries are needed)
//   npm run bench -- --quick       a short run to check that everything works (about 3.5 minutes)
//   node test/bench/run.mjs --help
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run as allocations } from './allocations.mjs';
import { run as throughput } from './http-throughput.mjs';
import { run as memory } from './memory.mjs';
import { parseOptions } from './lib/options.mjs';
import { machine, progress, summaryTable } from './lib/report.mjs';
import { root } from './lib/variants.mjs';
import { updateCostsPage } from './readme.mjs';
import { run as scrapeImpact } from './scrape-impact.mjs';
import { run as scrape } from './scrape.mjs';
import { run as soak } from './soak.mjs';
import { run as startup } from './startup.mjs';

const BENCHES = [throughput, startup, memory, allocations, scrape, scrapeImpact, soak];

const args = process.argv.slice(2);
const options = parseOptions(args);
const started = Date.now();

function revision() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown revision';
  }
}

const header = [
  '# mon benchmarks',
  '',
  `\`node test/bench/run.mjs${args.length ? ` ${args.join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}, ` +
    `${revision()}. ${machine()}.`,
  '',
].join('\n');
console.log(header);
const sections = [];
const summary = [];
try {
  for (const bench of BENCHES) {
    const result = await bench(options);
    const markdown = typeof result === 'string' ? result : result.markdown;
    if (typeof result !== 'string') summary.push(...result.summary);
    console.log(`${markdown}\n`);
    sections.push(markdown, '');
  }
} catch (error) {
  console.error(error.stack ?? error);
  process.exit(1);
}
// The summary comes last on stdout (it needs every bench) and first in RESULTS.md.
const summarySection = [
  '## Summary',
  '',
  `${machine()}. mon's figure and the peers' next to the goals of issues 2 and 8; each figure is explained in ` +
    'its section below, with its spread. Δ: paired difference to bare; ×: ratio to bare.',
  '',
  summaryTable(summary),
  '',
].join('\n');
console.log(summarySection);
progress(`bench: done in ${Math.round((Date.now() - started) / 1000)} s`);
if (options.save) {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
  // The sections of the benches run alone survive a full run: the per-line section (lines.mjs),
  // the instruction counts (instructions.mjs), the cluster pushes' (cluster-push.mjs), the
  // database calls' (db.mjs), HTTP/2 and gRPC (http2.mjs), idle cost (idle.mjs), the host
  // collection's (packages/host/bench/collect.bench.mjs) and the two scrapers (test/windows.e2e.test.ts).
  const current = readFileSync(file, 'utf8');
  const section = (title) => new RegExp(`\\n(## ${title}\\n[\\s\\S]*?)(?=\\n## |$)`).exec(current)?.[1];
  const perLine = section('Per Node line');
  const instructions = section('Instructions per request');
  const clusterPush = section('Cluster pushes');
  const databases = section('Database calls');
  const alone = ['HTTP/2 and gRPC', 'Idle', 'Host collection', 'Two scrapers'].map(section);
  writeFileSync(
    file,
    [header, summarySection, perLine, instructions, ...sections, clusterPush, databases, ...alone].filter((s) => s !== undefined).join('\n'),
  );
  progress(`bench: wrote ${path.relative(process.cwd(), file)}`);
  updateCostsPage();
  progress('bench: docs/costs.md "What it costs" regenerated from it');
}
