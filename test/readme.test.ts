// The README's cost tables are the benchmark report's own (test/bench/readme.mjs generates them from
// test/bench/RESULTS.md): a hand-edited or stale figure in the README fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, RESULTS, costsBlock, withCosts } from './bench/readme.mjs';

describe('README "What it costs"', () => {
  it('is the summary of test/bench/RESULTS.md, misses included', () => {
    const readme = readFileSync(README, 'utf8');
    const results = readFileSync(RESULTS, 'utf8');
    expect(withCosts(readme, results)).toBe(readme);
    // Every verdict in the report reaches the README, the missed goals too (the summary's and each Node line's).
    const section = (name: string): string => results.split(`## ${name}`)[1]?.split('\n## ')[0] ?? '';
    const missed = [section('Summary'), section('Per Node line')].join('\n').match(/\*\*missed\*\*/g)?.length ?? 0;
    expect((costsBlock(results).match(/\*\*missed\*\*/g) ?? []).length).toBe(missed);
  });
});
