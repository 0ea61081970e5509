// Parsing cgroup files from their bytes (files.ts).
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupFiles, field, fields, key, numberAt, numberIn, spaceIn, type Bytes } from '../../src/container/files.js';
import { tree, type Tree } from './tree.js';

const b = (text: string): Bytes => ({ buffer: Buffer.from(`${text}stale 9 bytes past the end\n`, 'latin1'), length: text.length });
let t: Tree | undefined;
afterEach(() => {
  t?.remove();
  t = undefined;
});

describe('numbers from cgroup bytes', () => {
  it('reads a single-value file, "max" and garbage as NaN, and "no limit" near enough', () => {
    expect(numberIn(b('150000000\n'))).toBe(150_000_000);
    expect(numberIn(b('-1\n'))).toBe(-1);
    expect(numberIn(b('0'))).toBe(0);
    expect(numberIn(b('max\n'))).toBeNaN();
    expect(numberIn(b('12abc\n'))).toBeNaN();
    expect(numberIn(b(''))).toBeNaN();
    expect(numberIn(undefined)).toBeUndefined();
    // v1's no limit, 2^63 - 4096: only compared with 2^62.
    expect(numberIn(b('9223372036854771712\n'))).toBeCloseTo(2 ** 63, -6);
    expect(numberAt(b('50000 100000\n'), 6)).toBe(100_000);
    expect(spaceIn(b('max 100000\n'))).toBe(3);
    expect(spaceIn(b('max'))).toBe(-1);
    // Only up to the length read: the buffer holds older bytes past it.
    expect(numberIn(b('12'))).toBe(12);
    expect(numberIn(b('-'))).toBeNaN();
  });

  it('takes a key only at the start of a line', () => {
    const stat = b('cache 1\nrss 2\ninactive_file 3\ntotal_cache 50000000\ntotal_rss 100000000\ntotal_inactive_file 20000000\n');
    expect(field(stat, key('rss'))).toBe(2);
    expect(field(stat, key('total_rss'))).toBe(100_000_000);
    expect(field(stat, key('inactive_file'))).toBe(3);
    expect(field(stat, key('cache'))).toBe(1);
    expect(field(stat, key('total_inactive_file'))).toBe(20_000_000);
    expect(field(stat, key('swap'))).toBeUndefined();
    // "max" in memory.events is a key of its own, not the end of another.
    const events = b('low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n');
    expect(field(events, key('max'))).toBe(17);
    expect(field(events, key('oom'))).toBe(2);
    expect(field(events, key('oom_kill'))).toBe(1);
    expect(field(undefined, key('max'))).toBeUndefined();
    expect(field(b('usage_usec x\n'), key('usage_usec'))).toBeUndefined();
    // A key that only the older bytes past the length would complete.
    expect(field(b('sta'), key('stale'))).toBeUndefined();
    expect(field(b('oom 2\n'), key('stale'))).toBeUndefined();
  });

  it('takes several keys in one pass, whatever their order, into the array it is given', () => {
    const stat = b('cache 1\nrss 2\nhierarchical_memory_limit 268435456\ntotal_rss 100000000\ntotal_inactive_file 20000000\n');
    const out: Array<number | undefined> = [7, 7, 7, 7];
    const names = [key('total_inactive_file'), key('hierarchical_memory_limit'), key('swap'), key('rss')];
    expect(fields(stat, names, out)).toBe(out);
    expect(out).toEqual([20_000_000, 268435456, undefined, 2]);
    expect(fields(undefined, names, out)).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('cgroupFiles', () => {
  it('reads each file afresh at each read, grows for a large file, and remembers a missing one', () => {
    t = tree({ 'small': '1\n', 'large': `${'x_counter 1\n'.repeat(1000)}last 42\n` });
    const files = cgroupFiles();
    const small = files.file(`${t.root}/small`);
    const large = files.file(`${t.root}/large`);
    const missing = files.file(`${t.root}/missing`);
    expect(numberIn(small.read())).toBe(1);
    expect(field(large.read(), key('last'))).toBe(42);
    t.write('small', '2\n');
    expect(numberIn(small.read())).toBe(2);
    // The one buffer still holds the large file past the small one's length: not part of it.
    expect(field(small.read(), key('last'))).toBeUndefined();
    expect(field(small.read(), key('x_counter'))).toBeUndefined();
    expect(missing.read()).toBeUndefined();
    expect(() => missing.require()).toThrow(/does not exist/);
    // Created later: still absent for this CgroupFiles (one failed open, not one per collection).
    t.write('missing', '3\n');
    expect(missing.read()).toBeUndefined();
    files.close();
    expect(() => small.read()).toThrow();
    expect(fs.existsSync(`${t.root}/small`)).toBe(true);
  });
});
