// Preloaded first (`node --import ./gc-window.mjs [--import <preload>] app.mjs`) by allocations.mjs:
// counts what the process allocates on the JS heap between two SIGUSR2s.
//
// V8 has no cumulative "bytes allocated" counter (v8.getHeapStatistics() gives what is live now), but
// every byte allocated is still in its space until a GC, so over a window:
//   allocated = sum over GCs of (used before this GC - used after the previous one) + (used at the
//   end - used after the last GC), per heap space,
// with the first "after" being the used size at the start. v8.GCProfiler (Node >= 18.15) records
// the per-space used sizes before and after every GC of the window, and each GC's type, so the same
// data also gives the scavenge count that --trace-gc would print. (A check: 10 000 arrays of 1000
// doubles, 8 048 bytes each, measure as 8 140 bytes each: within 1.5%, the loop's own objects included.)
//
// First SIGUSR2: the window opens, "gc-window started" on stdout. Second: it closes, and one line
// "gc-window {json}" reports { allocated: { <space>: bytes }, gcs: { <type>: count } }.
//
// With BENCH_HEAP_PROFILE=<file>, the window runs V8's sampling heap profiler instead (every
// 16 bytes on average, objects collected since included: what was allocated, not what survived)
// and writes its profile to <file>: where the bytes were allocated, not how many exactly.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';

let profiler = null;
let start = null;

const used = (spaces) => {
  const out = {};
  for (const s of spaces) out[s.space_name ?? s.spaceName] = s.space_used_size ?? s.spaceUsedSize;
  return out;
};

function allocatedBetween(startSpaces, statistics, endSpaces) {
  const allocated = {};
  const add = (now, previous) => {
    for (const space in now) allocated[space] = (allocated[space] ?? 0) + now[space] - (previous[space] ?? 0);
  };
  let previous = used(startSpaces);
  for (const gc of statistics) {
    add(used(gc.beforeGC.heapSpaceStatistics), previous);
    previous = used(gc.afterGC.heapSpaceStatistics);
  }
  add(used(endSpaces), previous);
  return allocated;
}

const heapProfile = process.env.BENCH_HEAP_PROFILE;
let session = null;

async function heapWindow() {
  if (session === null) {
    session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 16,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    process.stdout.write('gc-window started\n');
    return;
  }
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  session = null;
  writeFileSync(heapProfile, JSON.stringify(profile));
  process.stdout.write('gc-window {}\n');
}

process.on('SIGUSR2', () => {
  if (heapProfile) {
    heapWindow().catch((error) => process.stderr.write(`gc-window: ${error.stack}\n`));
    return;
  }
  if (profiler === null) {
    start = v8.getHeapSpaceStatistics();
    profiler = new v8.GCProfiler();
    profiler.start();
    process.stdout.write('gc-window started\n');
    return;
  }
  const { statistics } = profiler.stop();
  const end = v8.getHeapSpaceStatistics();
  profiler = null;
  const gcs = {};
  for (const gc of statistics) gcs[gc.gcType] = (gcs[gc.gcType] ?? 0) + 1;
  process.stdout.write(`gc-window ${JSON.stringify({ allocated: allocatedBetween(start, statistics, end), gcs })}\n`);
});
