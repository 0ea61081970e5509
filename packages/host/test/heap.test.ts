import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { points, start, value, type Collected, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

const sum = (c: Collected, name: string) => points(c, name).reduce((s, p) => s + (p.value as number), 0);

describe('v8js.memory.*', () => {
  it('reports every heap space, adding up to v8.getHeapStatistics()', async () => {
    h = start({ groups: ['runtime'] });
    const c = await h.collect();
    const stats = v8.getHeapStatistics();
    const names = v8.getHeapSpaceStatistics().map((s) => s.space_name);
    expect(points(c, 'v8js.memory.heap.used').map((p) => p.attributes['v8js.heap.space.name']).sort()).toEqual([...names].sort());
    expect(Math.abs(sum(c, 'v8js.memory.heap.used') - stats.used_heap_size)).toBeLessThan(stats.used_heap_size * 0.1);
    expect(Math.abs(sum(c, 'v8js.memory.heap.space.size') - stats.total_heap_size)).toBeLessThan(stats.total_heap_size * 0.1);
    expect(sum(c, 'v8js.memory.heap.space.available_size')).toBeGreaterThan(0);
  });

  it('counts Buffers in external memory', async () => {
    h = start({ groups: ['runtime'] });
    const before = value(await h.collect(), 'v8js.memory.external');
    const buffer = Buffer.alloc(16 * 1024 * 1024, 1);
    const after = value(await h.collect(), 'v8js.memory.external');
    expect(after - before).toBeGreaterThanOrEqual(buffer.length * 0.99);
  });

  it('drops only its own metrics when V8 statistics throw, and reports once', async () => {
    vi.spyOn(v8, 'getHeapSpaceStatistics').mockImplementation(() => {
      throw new Error('no heap statistics');
    });
    const onError = vi.fn();
    h = start({ groups: ['runtime', 'memory'], onError });
    for (let i = 0; i < 3; i++) {
      const c = await h.collect();
      expect(c.errors).toEqual([]);
      expect(points(c, 'v8js.memory.heap.used')).toEqual([]);
      expect(points(c, 'nodejs.eventloop.time')).toHaveLength(2);
      expect(points(c, 'system.memory.usage')).toHaveLength(2);
    }
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith('heap', expect.objectContaining({ message: 'no heap statistics' }));
  });
});
