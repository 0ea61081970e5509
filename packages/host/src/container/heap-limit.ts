// V8 sizes its heap from the machine's memory, not the container's: a heap limit at or above the
// container's memory limit means the kernel's OOM killer ends the process (SIGKILL, no stack, no
// heap error, no exit handlers) before V8 ever reaches its own limit. Said once, at start.
import v8 from 'node:v8';
import { MON_HEAP_ABOVE_LIMIT, type Warn } from '@mon/warnings';

const MiB = 1024 * 1024;

/** The warning's line, or undefined when the heap limit is below the memory limit (or there is none). */
export function heapLimitWarning(heapLimit: number, memoryLimit: number | undefined): string | undefined {
  if (memoryLimit === undefined || heapLimit < memoryLimit) return undefined;
  // Three quarters of the limit leaves room for what lives outside the V8 heap (buffers, code,
  // thread stacks, native modules), which counts against the container as well.
  const suggested = Math.max(16, Math.floor((memoryLimit * 0.75) / MiB));
  return (
    `V8's heap limit (${Math.round(heapLimit / MiB)} MiB) is at or above the container's memory limit ` +
    `(${Math.round(memoryLimit / MiB)} MiB): the kernel's OOM killer will end this process with SIGKILL ` +
    `before V8 can throw a heap out-of-memory error; metrics carry on. Start node with a smaller heap, ` +
    `e.g. NODE_OPTIONS=--max-old-space-size=${suggested}`
  );
}

export function warnIfHeapAboveLimit(memoryLimit: number | undefined, warn: Warn): void {
  const message = heapLimitWarning(v8.getHeapStatistics().heap_size_limit, memoryLimit);
  if (message) warn(MON_HEAP_ABOVE_LIMIT, message);
}
