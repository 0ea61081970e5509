// Cost of one full collection: @mon/host against @opentelemetry/host-metrics, each on its own real
// MeterProvider with its own reader, collected the same way.
//
//   npx tsc -b packages/host && node packages/host/bench/collect.bench.mjs
//
// The container group reads its files at every collection but records only under a limit: to
// measure it as a container sees it, run the bench inside a limited cgroup, e.g. (cgroup v1, root)
//   mkdir /sys/fs/cgroup/memory/b /sys/fs/cgroup/cpu/b
//   echo 268435456 > /sys/fs/cgroup/memory/b/memory.limit_in_bytes; echo 50000 > /sys/fs/cgroup/cpu/b/cpu.cfs_quota_us
//   sh -c 'echo $$ > /sys/fs/cgroup/memory/b/cgroup.procs; echo $$ > /sys/fs/cgroup/cpu/b/cgroup.procs; exec node packages/host/bench/collect.bench.mjs'
//
// Collections are spaced SPACING_MS apart, as scrapes are, so the event loop sampler has samples
// for the delay callback to merge (its window's slots: windows.ts).
// Wall time is what a scrape waits; CPU time counts every thread of the process (statfs runs on
// the libuv pool, systeminformation in child processes is not counted at all).
import { HostMetrics } from '@opentelemetry/host-metrics';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { HOST_METRIC_NAMES, startHostMetrics } from '../dist/index.js';

const SPACING_MS = 15;
const WARMUP = 10;

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(name, start, iterations) {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  const stop = start(provider);
  let series = 0;
  for (let i = 0; i < WARMUP; i++) {
    await sleep(SPACING_MS);
    const { resourceMetrics } = await reader.collect();
    series = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).reduce((n, m) => n + m.dataPoints.length, 0);
  }
  const wall = [];
  let cpu = 0;
  for (let i = 0; i < iterations; i++) {
    await sleep(SPACING_MS);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await reader.collect();
    wall.push(Number(process.hrtime.bigint() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  stop?.();
  await provider.shutdown();
  wall.sort((a, b) => a - b);
  const at = (q) => wall[Math.min(wall.length - 1, Math.floor(q * wall.length))];
  return { name, series, median: at(0.5), p90: at(0.9), max: wall[wall.length - 1], cpu: cpu / iterations, iterations };
}

const mon = (options) => (provider) => startHostMetrics(provider, { onError: (s, e) => console.error('source failed:', s, e), ...options }).stop;
const otel = (metricGroups) => (provider) => {
  new HostMetrics({ meterProvider: provider, ...(metricGroups ? { metricGroups } : {}) }).start();
};

const cases = [
  ['sdk only (no instruments)', () => {}, 100],
  ['@mon/host, default (all groups)', mon({}), 100],
  // The container group's share of a full collection (the first read after an idle spell costs the most, and a full collection pays it once).
  ['@mon/host, default without container', mon({ groups: Object.keys(HOST_METRIC_NAMES).filter((g) => g !== 'container') }), 100],
  ...Object.keys(HOST_METRIC_NAMES).map((group) => [`@mon/host, ${group} only`, mon({ groups: [group] }), 100]),
  ['@opentelemetry/host-metrics, default (incl. network)', otel(), 30],
  ['@opentelemetry/host-metrics, without network', otel(['system.cpu', 'system.memory', 'process.cpu', 'process.memory']), 100],
];

console.log(`node ${process.version}, ${process.platform}/${process.arch}, one collection every ${SPACING_MS} ms\n`);
console.log('case'.padEnd(56), 'series'.padStart(6), 'median µs'.padStart(10), 'p90 µs'.padStart(9), 'max µs'.padStart(9), 'CPU µs'.padStart(8));
for (const [name, start, iterations] of cases) {
  const r = await measure(name, start, iterations);
  const f = (x) => x.toFixed(0);
  console.log(name.padEnd(56), String(r.series).padStart(6), f(r.median).padStart(10), f(r.p90).padStart(9), f(r.max).padStart(9), f(r.cpu).padStart(8));
}
