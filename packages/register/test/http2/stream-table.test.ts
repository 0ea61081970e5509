import { describe, expect, it } from 'vitest';
import { StreamTable } from '../../src/http2/stream-table.js';

/** Every entry must be found where it is, every other id not at all: the ids that are not. */
function mismatches(table: StreamTable, model: Map<number, [number, number, string | undefined]>, probes: number[]): string[] {
  const wrong: string[] = [];
  if (table.count !== model.size) wrong.push(`count ${table.count} != ${model.size}`);
  for (const [id, [packed, deadline, path]] of model) {
    const i = table.find(id);
    if (i < 0 || table.packed[i] !== packed || table.deadlines[i] !== deadline || table.paths[i] !== path) wrong.push(`stream ${id}`);
  }
  for (const id of probes) if (!model.has(id) && table.find(id) !== -1) wrong.push(`absent stream ${id} found`);
  return wrong;
}

describe('StreamTable', () => {
  it('keeps what a stream stored until it is removed, negative values included', () => {
    const table = new StreamTable(true);
    expect(table.encrypted).toBe(true);
    table.add(1, 42, -1, undefined);
    table.add(3, -7, 1500, '/pkg.Svc/Method');
    expect(table.find(5)).toBe(-1);
    const i = table.find(3);
    expect([table.packed[i], table.deadlines[i], table.paths[i]]).toEqual([-7, 1500, '/pkg.Svc/Method']);
    table.removeAt(i);
    expect(table.find(3)).toBe(-1);
    expect(table.paths.includes('/pkg.Svc/Method')).toBe(false);
    expect(table.packed[table.find(1)]).toBe(42);
    expect(table.count).toBe(1);
  });

  it('agrees with a Map over streams coming and going in any order, through growth and wrap-around', () => {
    // A fixed-seed LCG: the same sequence every run.
    let seed = 12345;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const table = new StreamTable(false);
    const model = new Map<number, [number, number, string | undefined]>();
    // Client streams (odd ids, rising) and pushed ones (even): colliding home slots on purpose.
    let nextClient = 1;
    let nextPush = 2;
    for (let step = 0; step < 20000; step++) {
      // Up to ~200 in flight, then draining: the table grows and keeps its size.
      const inFlight = step % 4000 < 3000 ? 200 : 0;
      if (model.size < inFlight && random(3) !== 0) {
        const id = random(5) === 0 ? (nextPush += 2) : (nextClient += 2);
        const entry: [number, number, string | undefined] = [random(1000) - 500, random(10) === 0 ? random(60000) : -1, random(4) === 0 ? `/p${id}` : undefined];
        table.add(id, ...entry);
        model.set(id, entry);
      } else if (model.size > 0) {
        const ids = [...model.keys()];
        // Mostly the oldest (long-lived streams stay while later ones finish), sometimes any.
        const id = random(2) === 0 ? ids[0]! : ids[random(ids.length)]!;
        table.removeAt(table.find(id));
        model.delete(id);
      }
      if (step % 97 === 0) expect(mismatches(table, model, [nextClient, nextClient + 2, nextPush + 2, 1, 2]), `step ${step}`).toEqual([]);
    }
    expect(mismatches(table, model, [nextClient + 2])).toEqual([]);
    // Half full at most, and sized by the most in flight at once, not by the streams seen.
    expect(table.ids.length).toBeLessThanOrEqual(512);
  });

  it('finds ids up to 2^31 - 1, the largest a stream can have', () => {
    const table = new StreamTable(false);
    const top = 2 ** 31 - 1;
    table.add(top, 1, -1, undefined);
    table.add(top - 2, 2, -1, undefined);
    expect(table.packed[table.find(top)]).toBe(1);
    table.removeAt(table.find(top));
    expect(table.find(top)).toBe(-1);
    expect(table.packed[table.find(top - 2)]).toBe(2);
  });
});
