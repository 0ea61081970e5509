// The cost tables of docs/costs.md are the benchmark report's own (test/bench/readme.mjs generates them
// from test/bench/RESULTS.md): a hand-edited or stale figure there fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COSTS_PAGE, README, RESULTS, costsBlock, headlineBlock, withCosts, withHeadline } from './bench/readme.mjs';

describe('docs/costs.md "What it costs"', () => {
  it('is the summary of test/bench/RESULTS.md, misses included', () => {
    const page = readFileSync(COSTS_PAGE, 'utf8');
    const results = readFileSync(RESULTS, 'utf8');
    expect(withCosts(page, results)).toBe(page);
    // Every verdict in the report reaches the page, the missed goals too (the summary's and each Node line's).
    const section = (name: string): string => results.split(`## ${name}`)[1]?.split('\n## ')[0] ?? '';
    const missed = [section('Summary'), section('Per Node line')].join('\n').match(/\*\*missed\*\*/g)?.length ?? 0;
    expect((costsBlock(results).match(/\*\*missed\*\*/g) ?? []).length).toBe(missed);
  });
});

describe('README "What it costs"', () => {
  it('shows the headline figures of test/bench/RESULTS.md, as the report has them', () => {
    const readme = readFileSync(README, 'utf8');
    const results = readFileSync(RESULTS, 'utf8');
    expect(withHeadline(readme, results)).toBe(readme);
    // Each headline row is a row of the report's summary, verbatim (the same figure, goal and verdict).
    const rows = headlineBlock(results).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| figure') && !l.startsWith('| ---'));
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const row of rows) expect(results, row).toContain(`\n${row}\n`);
    // The README links to the page with every figure.
    expect(readme).toContain('](docs/costs.md)');
  });
});
