// Garbage collection pauses, as a histogram by GC type, fed by a PerformanceObserver.
import { PerformanceObserver, constants, type NodeGCPerformanceDetail } from 'node:perf_hooks';
import type { Attributes, Meter } from '@opentelemetry/api';
import type { Report } from './report.js';

export const GC_METRICS = ['v8js.gc.duration'] as const;

// Semconv advises [0.01, 0.1, 1, 10] s, but nearly every pause of a healthy process is under
// 10 ms and would land in the first bucket; these resolve the sub-millisecond scavenges too.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const TYPES = new Map<number, Attributes>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, Object.freeze({ 'v8js.gc.type': 'major' })],
  [constants.NODE_PERFORMANCE_GC_MINOR, Object.freeze({ 'v8js.gc.type': 'minor' })],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, Object.freeze({ 'v8js.gc.type': 'incremental' })],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, Object.freeze({ 'v8js.gc.type': 'weakcb' })],
]);
const FIX = "Leave 'runtime' out of MON_METRICS (or the groups option) to stop collecting it.";

export function startGcMetrics(meter: Meter, report: Report): () => void {
  // A synchronous histogram: each GC is an event to record, not a value to read at collection.
  const duration = meter.createHistogram('v8js.gc.duration', {
    unit: 's',
    description: 'Garbage collection pause duration, by GC type.',
    advice: { explicitBucketBoundaries: BUCKETS },
  });
  // The observer holds no libuv handle, so it keeps no process alive.
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // @types/node leaves `detail` off PerformanceEntry; for 'gc' entries Node sets it to { kind, flags }.
      const kind = (entry as { detail?: NodeGCPerformanceDetail | null }).detail?.kind;
      const attributes = kind === undefined ? undefined : TYPES.get(kind);
      if (attributes) duration.record(entry.duration / 1000, attributes);
    }
  });
  try {
    observer.observe({ entryTypes: ['gc'] });
  } catch (error) {
    report('gc', error, FIX);
  }
  return () => observer.disconnect();
}
