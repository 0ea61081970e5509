import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures what mon writes to stderr during each test of the calling file (warn.ts writes there).
 * Returns the lines of the running test.
 */
export function captureStderr(): () => string[] {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return () => lines;
}
