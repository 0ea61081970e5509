// startHostMetrics: which groups to start, and the names each one records.
import path from 'node:path';
import type { MeterProvider } from '@opentelemetry/api';
import type { AggregationTemporality, CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import { processWarning, type Warn } from '@mon/warnings';
import { CONTAINER_METRICS, containerProducer, openCgroup, startContainerMetrics, warnHeapLimit, type Cgroup } from './container/index.js';
import { CPU_METRICS, startCpuMetrics } from './cpu.js';
import { DISK_IO_METRICS, startDiskIoMetrics } from './disk-io.js';
import type { DelayRecorder } from './event-loop-delay.js';
import { EVENT_LOOP_METRICS, startEventLoopMetrics } from './event-loop.js';
import { FILESYSTEM_METRICS, startFilesystemMetrics } from './filesystem.js';
import { GC_METRICS, startGcMetrics } from './gc.js';
import { HEAP_METRICS, startHeapMetrics } from './heap.js';
import { MEMORY_METRICS, startMemoryMetrics } from './memory.js';
import { PROCESS_CPU_METRICS, startProcessCpuMetrics } from './process-cpu.js';
import { PROCESS_METRICS, startProcessMetrics } from './process.js';
import { HOST_METER_NAME } from './meter-name.js';
import { createReport, type OnError } from './report.js';
import { createWindows, type Peek, type WindowOptions } from './windows.js';

export type HostMetricGroup = 'cpu' | 'memory' | 'disk' | 'process' | 'runtime' | 'container';

export interface HostMetricsOptions {
  /** Default: all groups. */
  groups?: Iterable<HostMetricGroup>;
  /** Paths whose filesystems are watched. Default: the filesystem root and the working directory. */
  diskPaths?: string[];
  /** Called at most once per failing source. Default: one process warning of type MonWarning. */
  onError?: OnError;
  /** Says the warnings that are not a failing source (V8's heap limit above the container's). Default: a MonWarning process warning. */
  warn?: Warn;
  /** Where /proc and /sys/fs/cgroup are found, for the container group. Default '/'; tests point it at a directory tree. */
  root?: string;
  /**
   * The container group's series come from `HostMetrics.producer()` (a MetricProducer the caller
   * gives each reader) instead of observable instruments on the meter provider: the same series at
   * about half the cost per collection (test/bench/RESULTS.md). Default false.
   */
  producer?: boolean;
}

export interface HostMetrics {
  /** Removes every callback and listener; the instruments stop reporting. */
  stop(): void;
  /**
   * Runs `collect` (a reader's collect(), called synchronously) so that the window figures it
   * reports cover the last 5-10 s instead of the last 60-65 s: for a live view polling every few
   * seconds, which follows what happens now.
   */
  peek: Peek;
  /**
   * With the `producer` option: a MetricProducer for one reader (give each reader its own), with
   * the container series; `counters` is the temporality that reader takes for observable counters
   * (default cumulative). Without the option, or after stop(), it produces nothing.
   */
  producer(counters?: AggregationTemporality): MetricProducer;
}

const NOTHING: CollectionResult = Object.freeze({ resourceMetrics: Object.freeze({ resource: undefined as never, scopeMetrics: [] }), errors: [] });

/** The instrument names each group records (system.disk.* only on Linux). */
export const HOST_METRIC_NAMES: Readonly<Record<HostMetricGroup, readonly string[]>> = Object.freeze({
  cpu: Object.freeze([...CPU_METRICS, ...PROCESS_CPU_METRICS]),
  memory: Object.freeze([...MEMORY_METRICS]),
  disk: Object.freeze([...FILESYSTEM_METRICS, ...DISK_IO_METRICS]),
  process: Object.freeze([...PROCESS_METRICS]),
  runtime: Object.freeze([...EVENT_LOOP_METRICS, ...GC_METRICS, ...HEAP_METRICS]),
  container: Object.freeze([...CONTAINER_METRICS]),
});

/**
 * Registers host, process and Node.js runtime instruments on `meterProvider`. Values are read
 * only when a reader collects. What runs between collections: the event loop delay sampler (every
 * 10 ms while the loop works, every 500 ms while it idles), the windows' readings of cumulative
 * values every 5 s, and the GC observer; none keeps the process alive.
 *
 * Window figures (CPU and event loop utilization, event loop delay statistics) cover windows fixed
 * in time (windows.ts: the last 60-65 s; through `peek`, the last 5-10 s): a collection only
 * reads, so any number of readers and scrapers see the same figures.
 */
export function startHostMetrics(
  meterProvider: MeterProvider,
  options: HostMetricsOptions & {
    /** @internal Shorter windows, for tests. */
    windows?: WindowOptions;
    /**
     * @internal Where the event loop delay samples go instead of the SDK histogram
     * nodejs.eventloop.delay: @mon/register's recorder, which serves them with native buckets too.
     */
    delayHistogram?: DelayRecorder;
  } = {},
): HostMetrics {
  const report = createReport(options.onError);
  const groups = new Set<string>(options.groups ?? (Object.keys(HOST_METRIC_NAMES) as HostMetricGroup[]));
  for (const group of groups) {
    if (!Object.hasOwn(HOST_METRIC_NAMES, group)) {
      report(`group ${group}`, new Error(`unknown metric group "${group}"`), `Known groups: ${Object.keys(HOST_METRIC_NAMES).join(', ')}.`);
    }
  }

  const meter = meterProvider.getMeter(HOST_METER_NAME);
  const windows = createWindows(options.windows);
  const stops: Array<() => void> = [];
  // One cgroup, opened once, for the container group and for the CPUs process.cpu.utilization divides by.
  let cgroup: Cgroup | undefined;
  if (groups.has('container') || groups.has('cpu')) {
    try {
      cgroup = openCgroup(options.root);
    } catch (error) {
      report('container', error, "Leave 'container' out of MON_METRICS (or the groups option) to stop collecting it.");
    }
    if (cgroup) stops.push(() => cgroup!.close());
  }
  if (groups.has('cpu')) stops.push(startCpuMetrics(meter, report, windows), startProcessCpuMetrics(meter, report, windows, cgroup));
  if (groups.has('memory')) stops.push(startMemoryMetrics(meter, report));
  if (groups.has('disk')) {
    // Root first: where no mount table exists, the first path on a filesystem names it.
    const paths = options.diskPaths ?? [path.parse(process.cwd()).root, process.cwd()];
    stops.push(startFilesystemMetrics(meter, report, paths), startDiskIoMetrics(meter, report));
  }
  if (groups.has('process')) stops.push(startProcessMetrics(meter, report));
  if (groups.has('runtime')) {
    stops.push(startEventLoopMetrics(meter, report, windows, options.delayHistogram), startGcMetrics(meter, report), startHeapMetrics(meter, report));
  }

  const container = groups.has('container') ? cgroup : undefined;
  const warn = options.warn ?? processWarning;
  if (container && options.producer) warnHeapLimit(container, warn);
  else if (groups.has('container')) stops.unshift(startContainerMetrics(meter, report, cgroup, warn));
  const startMs = Date.now();

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const stop of stops) stop();
      windows.stop();
    },
    peek: (collect) => windows.peek(collect),
    producer(counters) {
      if (!container || !options.producer) return { collect: async () => NOTHING };
      const inner = containerProducer(container, report, startMs, counters);
      // stop() closes the cgroup's files: nothing more to read.
      return { collect: (collectOptions) => (stopped ? Promise.resolve(NOTHING) : inner.collect(collectOptions)) };
    },
  };
}
