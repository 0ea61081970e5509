// The cost of matching MON_IGNORE_PATHS globs and MON_ROUTE_PATTERNS templates against a hostile
// path: the longest a default Node server accepts (16 KB of headers), built to make a backtracking
// matcher try every split. Prints the time per match (median and worst of the runs), in µs. The
// goal (issue 18): at most 1 ms for the worst pattern.
//
//   npm run build && node test/bench/path-pattern.mjs [--runs 200]
import { compileGlob, compileRouteTemplate } from '../../packages/register/dist/path-pattern.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg === -1 ? 200 : Number(process.argv[runsArg + 1]);

const KB16 = 16 * 1024;
const fill = (unit) => `/${unit.repeat(Math.floor((KB16 - 1) / unit.length))}`;
const cases = [
  ['glob', '/**/x/**/y/**/z', fill('x/y/')],
  ['glob', '/**/x/**/y/**/z', fill('x/')],
  ['glob', '/static/**/img/**/*.png', `/static${fill('img/a.png.')}`],
  ['glob', '/**/*a*b*c*d*e*/**/z', fill('abcd')],
  ['glob', '/**/*a*b*c*d*e*/**/z', fill('abcd/')],
  ['template', '/*/x/*/y/*/z', fill('x/y/')],
  ['template', '/api/:v/*/items/:id', fill('a/')],
];

console.log('| kind | pattern | path | median µs | worst µs |');
console.log('|---|---|---|---|---|');
for (const [kind, source, path] of cases) {
  const pattern = kind === 'glob' ? compileGlob(source) : compileRouteTemplate(source);
  for (let i = 0; i < 20; i++) pattern.matches(path); // warm-up: let V8 optimise the matcher
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    pattern.matches(path);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  const shown = `${path.slice(0, 12)}… (${path.length} B)`;
  console.log(`| ${kind} | \`${source}\` | \`${shown}\` | ${times[times.length >> 1].toFixed(1)} | ${times.at(-1).toFixed(1)} |`);
}
