// The cost of matching MON_IGNORE_PATHS globs and MON_ROUTE_PATTERNS templates against a hostile
// path: the longest a default Node server accepts (16 KB of headers), built to make a backtracking
// matcher try every split. Prints the time per match (median, p99 and worst of the runs), in µs.
// The goal (issue 18): at most 1 ms for the worst pattern. On a busy machine the worst run can
// include the process being descheduled (wall time); the worst CPU time (process.cpuUsage, which a
// GC thread can add to) does not.
//
//   npm run build && node test/bench/path-pattern.mjs [--runs 200]
import { compileGlob, compileRouteTemplate } from '../../packages/register/dist/path-pattern.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg === -1 ? 200 : Number(process.argv[runsArg + 1]);

const KB16 = 16 * 1024;
const fill = (unit) => `/${unit.repeat(Math.floor((KB16 - 1) / unit.length))}`;
// Each path passes the glob's cheap literal head/tail checks, so the whole segment walk runs.
const cases = [
  ['glob', '/**/x/**/y/**/z', `${fill('x/y/')}z`],
  ['glob', '/**/x/**/y/**/z', `${fill('x/')}z`],
  ['glob', '/static/**/img/**/*.png', `/static${fill('a/')}b.png`],
  ['glob', '/**/*a*b*c*d*e*/**/z', `${fill('abcd/')}z`],
  ['template', '/*/x/*/y/*/z', fill('x/y/')],
  ['template', '/api/:v/*/items/:id', `/api${fill('a/')}`],
];

console.log('| kind | pattern | path | median µs | p99 µs | worst µs | worst CPU µs |');
console.log('|---|---|---|---|---|---|---|');
for (const [kind, source, path] of cases) {
  const pattern = kind === 'glob' ? compileGlob(source) : compileRouteTemplate(source);
  for (let i = 0; i < 20; i++) pattern.matches(path); // warm-up: let V8 optimise the matcher
  const times = [];
  const cpuTimes = [];
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    pattern.matches(path);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
    const used = process.cpuUsage(cpu);
    cpuTimes.push(used.user + used.system);
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const shown = `${path.slice(0, 12)}… (${path.length} B)`;
  console.log(`| ${kind} | \`${source}\` | \`${shown}\` | ${times[times.length >> 1].toFixed(1)} | ${times[Math.floor(times.length * 0.99)].toFixed(1)} | ${times.at(-1).toFixed(1)} | ${cpuTimes.at(-1)} |`);
}
