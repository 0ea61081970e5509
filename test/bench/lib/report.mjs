// Numbers to markdown: medians, ratios, the machine line every table is printed under.
import os from 'node:os';

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "0.91 (0.89–0.93)": the median of paired ratios with their range, so the noise is visible. */
export function ratio(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return '–';
  const m = median(finite).toFixed(2);
  if (finite.length === 1) return m;
  return `${m} (${Math.min(...finite).toFixed(2)}–${Math.max(...finite).toFixed(2)})`;
}

/** "+12.3 (+10.1…+15.0)": the median of paired differences with their range. */
export function delta(values, digits = 1) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return '–';
  const sign = (v) => (v >= 0 ? '+' : '') + v.toFixed(digits);
  const m = sign(median(finite));
  if (finite.length === 1) return m;
  return `${m} (${sign(Math.min(...finite))}…${sign(Math.max(...finite))})`;
}

export const fixed = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function table(header, rows, align) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (align?.[i] === 'r' ? '--:' : '---'))), ...rows.map(line)].join('\n');
}

/** Node version, CPUs and OS, as one line. */
export function machine() {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `Node ${process.version}, ${cpus.length} CPU${cpus.length === 1 ? '' : 's'} (${model}), ${os.platform()} ${os.release()} ${os.arch()}`;
}

/** The 1-minute load average: other work on the machine skews every number printed under it. */
export const load = () => os.loadavg()[0].toFixed(2);

/** Progress goes to stderr, so `npm run bench > results.md` keeps only the tables. */
export const progress = (message) => process.stderr.write(`${message}\n`);

/**
 * What a bench's run() resolves with: its markdown section, and its rows of the summary table that
 * run.mjs puts at the top of the report (summaryRow).
 */
export const section = (markdown, summary = []) => ({ markdown, summary });

/**
 * One row of the summary: the figure, mon's value, the peers' values (one string), the goal, and
 * whether mon meets it (true, false, or undefined when there is no goal or it cannot be judged).
 */
export const summaryRow = (figure, mon, peers, goal, met) => [
  figure,
  mon,
  peers || '–',
  goal || '–',
  met === undefined ? '–' : met ? 'met' : '**missed**',
];

export const summaryTable = (rows) => table(['figure', 'mon', 'peers', 'goal', 'verdict'], rows);
