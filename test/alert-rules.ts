// examples/grafana/rules.yml as the tests read it: the file itself, the alerts it defines, and a
// time-compressed copy for a real Prometheus, so an end-to-end test sees in seconds what the
// real rules see in minutes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root } from './helpers.js';

export const rulesDir = path.join(root, 'examples', 'grafana');
export const rulesPath = path.join(rulesDir, 'rules.yml');
export const rulesTestPath = path.join(rulesDir, 'rules.test.yml');

/** The `alert:` names of rules.yml, in file order. */
export function alertNames(text = readFileSync(rulesPath, 'utf8')): string[] {
  return [...text.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]!);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

function scaled(duration: string, factor: number): string {
  const m = /^(\d+)([smhd])$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  const ms = (Number(m[1]) * UNIT_SECONDS[m[2]!]! * 1000) / factor;
  if (!Number.isInteger(ms)) throw new Error(`${duration} / ${factor} is not a whole number of milliseconds`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * rules.yml with every time in it divided by `factor`: range selectors ([5m]), subqueries ([5m:1m]), offsets, `for:`
 * and predict_linear's horizon (seconds). With factor 60 a minute becomes a second: a Prometheus
 * that scrapes and evaluates every second then sees each rule's windows hold as many samples
 * as a 1-minute scrape interval would. Thresholds and ratios are untouched. Throws if a kind of
 * time it should find is missing, so a rules change cannot slip past it unscaled.
 */
export function compressTime(text: string, factor: number): string {
  const counts = { range: 0, subquery: 0, offset: 0, for: 0, horizon: 0 };
  const out = text
    .replace(/\[(\d+[smhd])\]/g, (_, d: string) => (counts.range++, `[${scaled(d, factor)}]`))
    .replace(/\[(\d+[smhd]):(\d+[smhd])\]/g, (_, d: string, step: string) => (counts.subquery++, `[${scaled(d, factor)}:${scaled(step, factor)}]`))
    .replace(/\boffset (\d+[smhd])\b/g, (_, d: string) => (counts.offset++, `offset ${scaled(d, factor)}`))
    .replace(/^(\s+for: )(\d+[smhd])$/gm, (_, lead: string, d: string) => (counts.for++, `${lead}${scaled(d, factor)}`))
    .replace(/(predict_linear\([^\n]*\],\s*)([^)\n]+)\)/g, (_, lead: string, horizon: string) => (counts.horizon++, `${lead}(${horizon}) / ${factor})`));
  for (const [kind, count] of Object.entries(counts)) if (count === 0) throw new Error(`compressTime: no ${kind} found in the rules`);
  // A time this does not know (keep_firing_for) would stay unscaled.
  const rest = out
    .split('\n')
    .filter((l) => !/^\s*#/.test(l) && /\[[^\]]*\d+[mhd]|offset \d+[mhd]|keep_firing_for/.test(l));
  if (rest.length > 0) throw new Error(`compressTime: unscaled durations left:\n${rest.join('\n')}`);
  return out;
}
