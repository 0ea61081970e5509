// What a worker leaves out because the primary has it: mon's machine-wide (system.*) and container-wide (container.*) host metrics.
import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { HOST_METER_NAME } from '@mon/host/meter-name';

/**
 * Host metric groups a worker starts: 'disk' is system-wide only (filesystems, disk I/O), and
 * 'container' is the cgroup the whole cluster shares (the primary says the heap-limit warning too).
 */
export function workerHostGroups<G extends string>(groups: Iterable<G>): G[] {
  return [...groups].filter((g) => g !== 'disk' && g !== 'container');
}

/**
 * Views for a worker's MeterProvider. The 'cpu' and 'memory' groups also hold process.cpu.* and
 * process.memory.usage, which workers must keep, so their system.* halves are dropped here; their
 * callbacks still read /proc/stat and meminfo at each collection (~30 µs). Only mon's host meter:
 * an app's own system.* instruments are the app's to record, in every process.
 */
export const WORKER_VIEWS: ViewOptions[] = [
  { instrumentName: 'system.*', meterName: HOST_METER_NAME, aggregation: { type: AggregationType.DROP } },
];
