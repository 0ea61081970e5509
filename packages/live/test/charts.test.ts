// The pure part of the charts; drawing is checked in a real browser (test/live-page.e2e.test.ts).
import { describe, expect, it } from 'vitest';
import { niceBytes, niceCeiling } from '../src/client/charts.js';

describe('axis tops', () => {
  it('round up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceCeiling(0.7)).toBe(1);
    expect(niceCeiling(156)).toBe(200);
    expect(niceCeiling(0.0414)).toBeCloseTo(0.05);
    expect(niceCeiling(2.2)).toBe(2.5);
    expect(niceCeiling(5)).toBe(5);
    expect(niceCeiling(0)).toBe(1);
  });

  it('round bytes in the binary unit they are shown in', () => {
    expect(niceBytes(60.5 * 1024 ** 2)).toBe(100 * 1024 ** 2);
    expect(niceBytes(1.3 * 1024 ** 3)).toBe(2 * 1024 ** 3);
  });
});
