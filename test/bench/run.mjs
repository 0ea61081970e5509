// `npm run bench`: every bench in turn, each printing its markdown table as it finishes.
// Progress goes to stderr, tables to stdout: `npm run bench > results.md` keeps the report only.
// `--save` also writes the whole report to test/bench/RESULTS.md. See test/bench/README.md.
//
//   npm run bench                  the full run (about 5.5 minutes on 2 cores, more when retries are needed)
//   npm run bench -- --quick       a short run to check that everything works (about 1.5 minutes)
//   node test/bench/run.mjs --help
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run as throughput } from './http-throughput.mjs';
import { run as memory } from './memory.mjs';
import { parseOptions } from './lib/options.mjs';
import { machine, progress } from './lib/report.mjs';
import { root } from './lib/variants.mjs';
import { run as startup } from './startup.mjs';

const BENCHES = [throughput, startup, memory];

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
const sections = [header];
try {
  for (const bench of BENCHES) {
    const section = await bench(options);
    console.log(`${section}\n`);
    sections.push(section, '');
  }
} catch (error) {
  console.error(error.stack ?? error);
  process.exit(1);
}
progress(`bench: done in ${Math.round((Date.now() - started) / 1000)} s`);
if (options.save) {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
  writeFileSync(file, sections.join('\n'));
  progress(`bench: wrote ${path.relative(process.cwd(), file)}`);
}
