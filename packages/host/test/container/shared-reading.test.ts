import { describe, expect, it } from 'vitest';
import { sharedReading } from '../../src/container/shared-reading.js';

describe('sharedReading', () => {
  it('serves two callers of one collection with one reading, and reads again for the next', () => {
    let n = 0;
    const [cpuLimit, cpu] = sharedReading(() => ++n, ['cpuLimit', 'cpu']);
    // One collection: process.cpu.utilization, then container.cpu.*.
    expect([cpuLimit(), cpu()]).toEqual([1, 1]);
    expect([cpuLimit(), cpu()]).toEqual([2, 2]);
  });

  it('reads at every call of a caller collecting alone', () => {
    let n = 0;
    const [cpuLimit, cpu] = sharedReading(() => ++n, ['cpuLimit', 'cpu']);
    expect([cpu(), cpu(), cpu()]).toEqual([1, 2, 3]);
  });

  it("never hands a caller another caller's reading older than maxAgeMs", () => {
    let n = 0;
    let clock = 0;
    const [cpuLimit, cpu] = sharedReading(() => ++n, ['cpuLimit', 'cpu'], 1000, () => clock);
    expect(cpu()).toBe(1);
    clock += 999;
    expect(cpuLimit()).toBe(1);
    expect(cpu()).toBe(2);
    clock += 1001;
    expect(cpuLimit()).toBe(3);
  });

  it('takes a reading as stale when the clock was set back (the clock is Date.now)', () => {
    let n = 0;
    let clock = 10_000;
    const [cpuLimit, cpu] = sharedReading(() => ++n, ['cpuLimit', 'cpu'], 1000, () => clock);
    expect(cpu()).toBe(1);
    clock -= 5_000;
    expect(cpuLimit()).toBe(2);
    expect(cpu()).toBe(2);
  });

  it('a failed reading is thrown to its caller and not kept', () => {
    let fail = true;
    const [cpuLimit, cpu] = sharedReading(() => {
      if (fail) throw new Error('EIO');
      return 7;
    }, ['cpuLimit', 'cpu']);
    expect(() => cpuLimit()).toThrow('EIO');
    fail = false;
    expect(cpu()).toBe(7);
  });
});
