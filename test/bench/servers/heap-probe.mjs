// Preloaded by soak.mjs (`node --expose-gc --import ./heap-probe.mjs [--import <preload>] app.mjs`):
// on SIGUSR2, prints "heap-probe {json}": the size V8 has given its young generation (new space, read
// before anything is collected), then runs a full GC and adds the JS heap still in use. RSS says what
// the process holds, and V8 holds more as it grows its young generation under load; the heap left
// after a full GC is what the program itself keeps: the figure a leak moves.
//
// The JSON also carries what RSS is made of after that GC, so a difference between two servers can
// be placed: `committed` (what V8 has committed for the JS heap, all spaces; `spaces` per space, code
// space included, which grows with the code the JIT compiles), `external` (memory held outside the
// heap by JS objects, buffers included) and `rss`; the rest of RSS is Node's and libc's (malloc).
// With BENCH_HEAP_SNAPSHOT=<dir> set, each probe also writes a heap snapshot there after the GC
// (<dir>/<pid>-<n>.heapsnapshot, named in the JSON as `snapshot`), to compare two with
// test/bench/heap-diff.mjs. Off by default: a snapshot stops the process for a second or more.
import path from 'node:path';
import v8 from 'node:v8';

const MB = 1024 * 1024;
const snapshots = process.env.BENCH_HEAP_SNAPSHOT;
let probes = 0;

process.on('SIGUSR2', () => {
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  globalThis.gc();
  const { used_heap_size: used, total_physical_size: committed } = v8.getHeapStatistics();
  const { rss, external } = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .filter((s) => s.physical_space_size > 0)
      .map((s) => [s.space_name, Math.round((s.physical_space_size / MB) * 100) / 100]),
  );
  const snapshot = snapshots ? v8.writeHeapSnapshot(path.join(snapshots, `${process.pid}-${++probes}.heapsnapshot`)) : undefined;
  process.stdout.write(`heap-probe ${JSON.stringify({ used, newSpace, committed, external, rss, spaces, snapshot })}\n`);
});
