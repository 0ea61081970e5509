// The figures that depend on the Node line, on every line users run: start-up (CommonJS and ESM
// apps, and `-e 0`), throughput × bare, CPU per request and heap bytes per request above Node's own
// floor. Each line runs startup.mjs, http-throughput.mjs and allocations.mjs for mon (bare and the
// floor kept) in a process of its own under that line's binary (test/node-lines), and the summary
// rows come back here, one column per line, next to the goals.
//
//   node test/bench/lines.mjs [--quick] [--lines 20,22,24,26] [--save]   (--save: into RESULTS.md)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run as allocations } from './allocations.mjs';
import { run as throughput } from './http-throughput.mjs';
import { parseOptions } from './lib/options.mjs';
import { updateCostsPage } from './readme.mjs';
import { machine, progress, table } from './lib/report.mjs';
import { run as startup } from './startup.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const childMode = args.includes('--line-child');

if (childMode) {
  // Under one line's binary (parseOptions re-runs this file under --node): the rows, as JSON.
  const options = parseOptions(args.filter((a) => a !== '--line-child'));
  const rows = [];
  // Start-up of a CommonJS app too: an ESM app pays node:http's facade itself and hides mon's cost.
  for (const [bench, only] of [
    [startup, ['mon', 'mon-cjs']],
    [throughput, ['mon']],
    [allocations, ['mon']],
  ]) {
    rows.push(...(await bench({ ...options, only })).summary);
  }
  process.stdout.write(`\n${JSON.stringify({ version: process.version, rows })}\n`);
} else {
  const lineIndex = args.indexOf('--lines');
  const lines = lineIndex === -1 ? ['20', '22', '24', '26'] : args[lineIndex + 1].split(',');
  const passOn = args.filter((a, i) => a !== '--save' && a !== '--lines' && args[i - 1] !== '--lines');
  const results = [];
  for (const line of lines) {
    progress(`lines: Node ${line}`);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--line-child', '--node', line, ...passOn], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = child.stdout.trim().split('\n').at(-1);
    if (child.status !== 0 || !last?.startsWith('{')) throw new Error(`Node ${line}: the benches failed (exit ${child.status})`);
    results.push(JSON.parse(last));
  }
  // Rows keyed by figure, in the order the first line gave them: "mon (verdict)" per line.
  const figures = results[0].rows.map((row) => row[0]);
  const cell = (result, figure) => {
    const row = result.rows.find((r) => r[0] === figure);
    return row ? `${row[1]}${row[4] === '**missed**' ? ' **missed**' : ''}` : '–';
  };
  const markdown = [
    '## Per Node line',
    '',
    `\`node test/bench/lines.mjs${passOn.length ? ` ${passOn.join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}. ` +
      `${machine().replace(/^Node \S+, /, '')}. Each line runs startup.mjs, http-throughput.mjs and allocations.mjs ` +
      'for mon against bare (and Node\'s own floor) in its own process under that line\'s binary; each cell is mon\'s ' +
      'median (range), the sections above explain each figure.',
    '',
    table(
      ['figure', ...results.map((r) => `Node ${r.version.slice(1)}`), 'goal'],
      figures.map((figure) => [figure, ...results.map((r) => cell(r, figure)), results[0].rows.find((r) => r[0] === figure)[3]]),
    ),
    '',
  ].join('\n');
  console.log(markdown);
  if (args.includes('--save')) {
    const file = path.join(here, 'RESULTS.md');
    const current = readFileSync(file, 'utf8');
    const start = current.indexOf('## Per Node line');
    const end = start === -1 ? -1 : current.indexOf('\n## ', start + 1);
    const next =
      start === -1
        ? current.replace('\n## ', `\n${markdown}\n## `)
        : `${current.slice(0, start)}${markdown}${end === -1 ? '' : current.slice(end + 1)}`;
    writeFileSync(file, next);
    progress(`lines: wrote the section into ${path.relative(process.cwd(), file)}`);
    updateCostsPage();
  }
}
