// V8 heap per space, and memory held outside the heap by JS objects (Buffers, ArrayBuffers).
import v8 from 'node:v8';
import type { Attributes, BatchObservableCallback, Meter } from '@opentelemetry/api';
import type { Report } from './report.js';

export const HEAP_METRICS = [
  'v8js.memory.heap.used',
  'v8js.memory.heap.space.size',
  'v8js.memory.heap.space.available_size',
  'v8js.memory.external',
] as const;

const FIX = "Leave 'runtime' out of MON_METRICS (or the groups option) to stop collecting it.";

export function startHeapMetrics(meter: Meter, report: Report): () => void {
  // Current semconv names: v8js.memory.heap.space.size replaces v8js.memory.heap.limit and
  // v8js.memory.heap.space.available_size replaces v8js.heap.space.available_size.
  const used = meter.createObservableUpDownCounter('v8js.memory.heap.used', {
    unit: 'By',
    description: 'V8 heap memory in use, by heap space.',
  });
  const size = meter.createObservableUpDownCounter('v8js.memory.heap.space.size', {
    unit: 'By',
    description: 'V8 heap memory reserved, by heap space.',
  });
  const available = meter.createObservableUpDownCounter('v8js.memory.heap.space.available_size', {
    unit: 'By',
    description: 'V8 heap memory still available, by heap space.',
  });
  // No semconv name exists for external memory yet; this one sits beside v8js.memory.*.
  const external = meter.createObservableUpDownCounter('v8js.memory.external', {
    unit: 'By',
    description: 'Memory outside the V8 heap held by JavaScript objects (Buffers, ArrayBuffers).',
  });
  const instruments = [used, size, available, external];

  // One attribute object per space name, built on first sight; the set of spaces is fixed per V8.
  const spaces = new Map<string, Attributes>();
  const callback: BatchObservableCallback = (result) => {
    try {
      for (const s of v8.getHeapSpaceStatistics()) {
        let attributes = spaces.get(s.space_name);
        if (!attributes) {
          attributes = Object.freeze({ 'v8js.heap.space.name': s.space_name });
          spaces.set(s.space_name, attributes);
        }
        result.observe(used, s.space_used_size, attributes);
        result.observe(size, s.space_size, attributes);
        result.observe(available, s.space_available_size, attributes);
      }
      // getHeapStatistics is 0.3 µs; process.memoryUsage() would also read RSS from /proc.
      result.observe(external, v8.getHeapStatistics().external_memory ?? process.memoryUsage().external);
    } catch (error) {
      report('heap', error, FIX);
    }
  };

  meter.addBatchObservableCallback(callback, instruments);
  return () => meter.removeBatchObservableCallback(callback, instruments);
}
