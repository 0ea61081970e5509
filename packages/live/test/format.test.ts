import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate, formatSeconds } from '../src/client/format.js';

describe('format', () => {
  it('keeps three significant digits at most', () => {
    expect(formatRate(156.4)).toBe('156/s');
    expect(formatRate(3.94)).toBe('3.94/s');
    expect(formatRate(0)).toBe('0/s');
    expect(formatPercent(0.0249)).toBe('2.49%');
    expect(formatPercent(1)).toBe('100%');
  });

  it('picks the unit that fits', () => {
    expect(formatSeconds(0.000162)).toBe('162 µs');
    expect(formatSeconds(0.0414)).toBe('41.4 ms');
    expect(formatSeconds(2.5)).toBe('2.5 s');
    expect(formatBytes(61935616)).toBe('59.1 MiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(25 * 1024 ** 3)).toBe('25 GiB');
    expect(formatDuration(23)).toBe('23s');
    expect(formatDuration(3725)).toBe('1h 2m');
    expect(formatCount(1935)).toBe('1,935');
  });
});
