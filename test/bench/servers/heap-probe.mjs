// Preloaded by soak.mjs (`node --expose-gc --import ./heap-probe.mjs [--import <preload>] app.mjs`):
// on SIGUSR2, prints "heap-probe {json}": the size V8 has given its young generation (new space, read
// before anything is collected), then runs a full GC and adds the JS heap still in use. RSS says what
// the process holds, and V8 holds more as it grows its young generation under load; the heap left
// after a full GC is what the program itself keeps: the figure a leak moves.
import v8 from 'node:v8';

process.on('SIGUSR2', () => {
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  globalThis.gc();
  const { used_heap_size: used } = v8.getHeapStatistics();
  process.stdout.write(`heap-probe ${JSON.stringify({ used, newSpace })}\n`);
});
