// What a server's first need costs (packages/register/src/first-need.ts): the synchronous load of the
// rest of mon, require() of dist/bundle/main.js, and its start(), which run inside the app's own call
// (for a server, right before its listen callback, so before its first response). In CPU
// instructions (the figure a shared machine cannot move much), under callgrind (valgrind,
// `--trace-children=no`, every thread summed, `--random-seed=1`: a count then repeats to ~0.1 M),
// per Node line: a CommonJS script run with `--import` of an empty module (the ESM loader is up, as
// under the preload) does the two; the same script without them is the baseline.
//
//   node test/bench/first-need.mjs [--lines 20,22,24,26] [--before DIR]
//   --before DIR: also the same with DIR as packages/register/dist (a build from another commit).
//
// Needs valgrind (Debian: apt-get install valgrind) and the Node lines (npm ci --prefix test/node-lines).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machine, progress, table } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nodeBinary = (line) => (line === '20' ? 'node' : path.join(root, `test/node-lines/node_modules/node${line}/bin/node`));

const { values } = parseArgs({ options: { lines: { type: 'string', default: '20,22,24,26' }, before: { type: 'string' } } });
const lines = values.lines.split(',');
const dists = { now: path.join(root, 'packages/register/dist'), ...(values.before ? { before: path.resolve(values.before) } : {}) };

const dir = mkdtempSync(path.join(tmpdir(), 'mon-first-need-'));
writeFileSync(path.join(dir, 'empty.mjs'), '');
// What first-need.ts does on a server's first need, without the event to replay.
writeFileSync(
  path.join(dir, 'need.cjs'),
  "const main = require(process.env.MON_DIST + '/bundle/main.js');\nmain.start({ standIn: { use() {} }, preloadedAt: Date.now() });\nprocess.exit(0);\n",
);
writeFileSync(path.join(dir, 'none.cjs'), 'process.exit(0);\n');

/** Instructions of one run of `script`, every thread. */
function count(line, script, dist = '') {
  const out = path.join(dir, `cg-${process.hrtime.bigint()}`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      'valgrind',
      ['--tool=callgrind', '--trace-children=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, nodeBinary(line), '--random-seed=1', '--import', './empty.mjs', script],
      // A port of its own: the endpoint never starts (the process exits first), but a bad one would warn.
      { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, MON_DIST: dist, OTEL_EXPORTER_PROMETHEUS_PORT: '19464' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      let total = 0;
      for (const f of readdirSync(dir).filter((name) => name.startsWith(path.basename(out)))) {
        const summary = /^summary: (\d+)/m.exec(readFileSync(path.join(dir, f), 'utf8'));
        if (summary) total += Number(summary[1]);
        rmSync(path.join(dir, f));
      }
      if (code !== 0 || !(total > 0)) reject(new Error(`valgrind exited ${code}: ${stderr.slice(-500)}`));
      else resolve(total);
    });
  });
}

try {
  const m = (v) => `${(v / 1e6).toFixed(1)} M`;
  const rows = [];
  for (const line of lines) {
    const base = await count(line, 'none.cjs');
    const cells = [];
    for (const [name, dist] of Object.entries(dists)) {
      const n = (await count(line, 'need.cjs', dist)) - base;
      progress(`node ${line} ${name}: ${m(n)}`);
      cells.push(n);
    }
    const version = /v(\S+)/.exec(execFileSync(nodeBinary(line), ['--version'], { encoding: 'utf8' }))?.[1] ?? line;
    rows.push([version, ...cells.map(m).reverse(), ...(cells.length === 2 ? [`${(((cells[0] - cells[1]) / cells[1]) * 100).toFixed(0)} %`] : [])]);
  }
  const header = ['Node', ...(values.before ? ['before'] : []), 'now', ...(values.before ? ['change'] : [])];
  console.log(`callgrind, every thread, \`node --random-seed=1 --import ./empty.mjs\` of a script that require()s main.js and calls start(), minus the same script without them. ${machine()}.\n`);
  console.log(table(header, rows, header.map((_, i) => (i === 0 ? 'l' : 'r'))));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
