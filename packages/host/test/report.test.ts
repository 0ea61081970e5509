import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReport } from '../src/report.js';

afterEach(() => vi.restoreAllMocks());

describe('createReport', () => {
  it('calls onError once per source', () => {
    const onError = vi.fn();
    const report = createReport(onError);
    const error = new Error('boom');
    report('disk io', error, 'fix it');
    report('disk io', new Error('again'), 'fix it');
    report('heap', error, 'fix it');
    expect(onError.mock.calls).toEqual([
      ['disk io', error],
      ['heap', error],
    ]);
  });

  it('by default emits one MonWarning naming the source, the cause and the fix', () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const report = createReport(undefined);
    const error = Object.assign(new Error('no such file or directory'), { code: 'ENOENT' });
    report('filesystem /gone', error, 'Check the path in MON_DISK_PATHS.');
    report('filesystem /gone', error, 'Check the path in MON_DISK_PATHS.');
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith(
      'filesystem /gone metrics are unavailable (ENOENT: no such file or directory); the other metrics carry on. Check the path in MON_DISK_PATHS.',
      { type: 'MonWarning', code: 'MON_SOURCE_FAILED' },
    );
  });

  it('survives an onError that throws', () => {
    const report = createReport(() => {
      throw new Error('handler bug');
    });
    expect(() => report('heap', new Error('x'), 'fix')).not.toThrow();
  });
});
