// What a process that never serves pays for the preload, in CPU instructions (the figure a shared
// machine cannot move much): `node -e 0` under callgrind (valgrind, `--trace-children=no`, every
// thread summed), bare, with `--import` of an empty module (what any --import costs Node's ESM
// loader) and with `--import @mon/register`, per Node line, in interleaved rounds. Run from a
// temporary folder with @mon/register linked in and no @opentelemetry/api to be found (the usual
// case: mon registers its stand-in MeterProvider without loading one).
//
// Single runs move by ±5 M from one to the next (V8's background threads, GC timing), hence the
// rounds and the ranges: median (min–max).
//
//   node test/bench/startup-instructions.mjs [--lines 22,24,26] [--runs 3] [--variants bare,empty,mon,disabled]
//        [--before DIR] [--seed N]
//   --before DIR: also `before`, the same with DIR as @mon/register (a copy of packages/register,
//   built, from another commit), in the same rounds.
//   --seed N: every node runs with --random-seed=N: V8 then seeds itself the same way each time,
//   and a count repeats to 0.1 M (most of the run-to-run noise is V8 drawing random primes for
//   its hash seed), at a level a few M higher than without it. One round is then enough.
//
// Needs valgrind (Debian: apt-get install valgrind) and the Node lines (npm ci --prefix test/node-lines).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machine, median, progress, table } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const VARIANTS = {
  bare: { label: 'bare `-e 0`', args: [] },
  empty: { label: '`--import` of an empty module', args: ['--import', './empty.mjs'] },
  mon: { label: 'mon', args: ['--import', '@mon/register'] },
  disabled: { label: 'mon, `OTEL_SDK_DISABLED=true`', args: ['--import', '@mon/register'], env: { OTEL_SDK_DISABLED: 'true' } },
  before: { label: 'mon before', args: ['--import', '@mon/register'], before: true },
};

const nodeBinary = (line) => (line === '20' ? 'node' : path.join(root, `test/node-lines/node_modules/node${line}/bin/node`));

/** Instructions of one `node … -e 0`, every thread. */
function count(dirs, line, variant) {
  const dir = VARIANTS[variant].before ? dirs.before : dirs.now;
  const out = path.join(dir, `cg-${process.hrtime.bigint()}`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      'valgrind',
      ['--tool=callgrind', '--trace-children=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, nodeBinary(line), ...seed, ...VARIANTS[variant].args, '-e', '0'],
      { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...VARIANTS[variant].env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      const files = readdirSync(dir).filter((f) => f.startsWith(path.basename(out)));
      let total = 0;
      for (const f of files) {
        // One file per thread (-01, -02…), and one without a thread that holds no summary.
        const summary = /^summary: (\d+)/m.exec(readFileSync(path.join(dir, f), 'utf8'));
        if (summary) total += Number(summary[1]);
        rmSync(path.join(dir, f));
      }
      if (code !== 0 || !(total > 0)) reject(new Error(`valgrind exited ${code}: ${stderr.slice(-500)}`));
      else resolve(total);
    });
  });
}

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '22,24,26' },
    runs: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'bare,empty,mon' },
    before: { type: 'string' },
    seed: { type: 'string' },
  },
});
const lines = values.lines.split(',');
const variants = values.variants.split(',');
if (values.before && !variants.includes('before')) variants.splice(variants.indexOf('mon'), 0, 'before');
const runs = Number(values.runs);
const seed = values.seed === undefined ? [] : [`--random-seed=${Number(values.seed)}`];

/** A folder with `register` linked in as @mon/register. */
function folder(register) {
  const dir = mkdtempSync(path.join(tmpdir(), 'mon-startup-instructions-'));
  mkdirSync(path.join(dir, 'node_modules/@mon'), { recursive: true });
  symlinkSync(path.resolve(register), path.join(dir, 'node_modules/@mon/register'));
  writeFileSync(path.join(dir, 'empty.mjs'), '');
  return dir;
}
const dirs = { now: folder(path.join(root, 'packages/register')), ...(values.before ? { before: folder(values.before) } : {}) };
try {
  const counts = Object.fromEntries(lines.map((line) => [line, Object.fromEntries(variants.map((v) => [v, []]))]));
  for (let round = 1; round <= runs; round++) {
    for (const line of lines) {
      for (const variant of variants) {
        const n = await count(dirs, line, variant);
        counts[line][variant].push(n);
        progress(`round ${round} node ${line} ${variant}: ${(n / 1e6).toFixed(1)} M`);
      }
    }
  }
  const m = (v) => `${(v / 1e6).toFixed(1)}`;
  const range = (list) => `${m(median(list))} M (${m(Math.min(...list))}–${m(Math.max(...list))})`;
  const rows = lines.map((line) => {
    const c = counts[line];
    const version = spawnVersion(line);
    const cells = variants.map((v) => range(c[v]));
    const extra = c.bare && c.mon ? [`+${m(median(c.mon) - median(c.bare))} M`, (median(c.mon) / median(c.bare)).toFixed(2)] : [];
    return [version, ...cells, ...extra];
  });
  const header = ['Node', ...variants.map((v) => VARIANTS[v].label), ...(variants.includes('bare') && variants.includes('mon') ? ['mon − bare (medians)', 'mon ÷ bare'] : [])];
  console.log(`callgrind, every thread, \`node ${seed.join(' ')}… -e 0\` from a folder with @mon/register linked in and no @opentelemetry/api; ${runs} interleaved rounds, median (min–max). ${machine()}.\n`);
  console.log(table(header, rows, header.map((_, i) => (i === 0 ? 'l' : 'r'))));
} finally {
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
}

function spawnVersion(line) {
  return /v(\S+)/.exec(execFileSync(nodeBinary(line), ['--version'], { encoding: 'utf8' }))?.[1] ?? line;
}
