import { afterEach, describe, expect, it, vi } from 'vitest';
import { COLLECTIONS, createWindows, PEEKS, PEEKS_EXPIRE_MS } from '../src/windows.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('interval windows', () => {
  it('tell peeks from collections, and a first peek from the next ones until peeks stop for a while', () => {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const windows = createWindows();
    const seen = () => ({ audience: windows.audience, first: windows.firstPeek });

    expect(seen()).toEqual({ audience: COLLECTIONS, first: false });
    expect(windows.peeksExpired()).toBe(true);
    expect(windows.peek(seen)).toEqual({ audience: PEEKS, first: true });
    expect(seen()).toEqual({ audience: COLLECTIONS, first: false });

    now += 2_000;
    expect(windows.peeksExpired()).toBe(false);
    expect(windows.peek(seen)).toEqual({ audience: PEEKS, first: false });
    // A peek inside a peek is the same peek.
    expect(windows.peek(() => windows.peek(seen))).toEqual({ audience: PEEKS, first: false });

    now += PEEKS_EXPIRE_MS + 1;
    expect(windows.peeksExpired()).toBe(true);
    expect(windows.peek(seen)).toEqual({ audience: PEEKS, first: true });
  });

  it('end the peek when its collect throws', () => {
    const windows = createWindows();
    expect(() =>
      windows.peek(() => {
        throw new Error('collect failed');
      }),
    ).toThrow('collect failed');
    expect(windows.audience).toBe(COLLECTIONS);
  });
});
