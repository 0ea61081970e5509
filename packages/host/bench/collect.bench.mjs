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
//   rmdir /sys/fs/cgroup/memory/b /sys/fs/cgroup/cpu/b     # once the bench has exited
// The last line gives the container group's share of a full collection (share() below). The
// container series come from host.producer(), as @mon/register collects them; with
// MON_BENCH_INSTRUMENTS=1, from observable instruments.
//
// Collections are spaced SPACING_MS apart, as scrapes are, so the event loop sampler has samples
// for the delay callback to merge (its window's slots: windows.ts).
// Wall time is what a scrape waits; CPU time counts every thread of the process (statfs runs on
// the libuv pool, systeminformation in child processes is not counted at all).
import { HostMetrics } from '@opentelemetry/host-metrics';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { HOST_METRIC_NAMES, startHostMetrics } from '../dist/index.js';

const SPACING_MS = 15;
// MON_BENCH_INSTRUMENTS=1: the container series as observable instruments (the `producer` option off).
const INSTRUMENTS = process.env.MON_BENCH_INSTRUMENTS === '1';
const WARMUP = 10;

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A reader that also collects the host metrics' producer (the container series), bound once they
 * start, as @mon/register wires it: the reader exists first.
 */
function readerWithHost(timings) {
  let host;
  let producer;
  const collect = (options) => {
    if (!host) return Promise.resolve({ resourceMetrics: { scopeMetrics: [] }, errors: [] });
    producer ??= host.producer();
    // The producer does all its work before it returns (its reads are synchronous): timed here.
    const t0 = process.hrtime.bigint();
    const result = producer.collect(options);
    timings?.push(Number(process.hrtime.bigint() - t0) / 1000);
    return result;
  };
  const reader = new Reader({ metricProducers: [{ collect }] });
  return { reader, bind: (h) => (host = h) };
}

async function measure(name, start, iterations) {
  const { reader, bind } = readerWithHost();
  const provider = new MeterProvider({ readers: [reader] });
  const stop = start(provider, bind);
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

const mon = (options) => (provider, bind) => {
  const host = startHostMetrics(provider, { onError: (s, e) => console.error('source failed:', s, e), producer: !INSTRUMENTS, ...options });
  bind(host);
  return host.stop;
};
const otel = (metricGroups) => (provider) => {
  new HostMetrics({ meterProvider: provider, ...(metricGroups ? { metricGroups } : {}) }).start();
};

/**
 * The container group's share of a full collection: the default groups and the same without
 * 'container', on two providers collected alternately (one collection every SPACING_MS), so that
 * whatever else loads the machine falls on both. A difference of two medians of sequential runs
 * moved by 0.2 ms between runs on a loaded 2-core machine; this one by a few tens of µs.
 */
async function share(iterations) {
  const groups = Object.keys(HOST_METRIC_NAMES);
  const timings = [];
  const readers = [groups, groups.filter((g) => g !== 'container')].map((g, i) => {
    const { reader, bind } = readerWithHost(i === 0 ? timings : undefined);
    const provider = new MeterProvider({ readers: [reader] });
    const stop = mon({ groups: g, warn: () => {} })(provider, bind);
    return { reader, provider, stop, wall: [] };
  });
  for (let i = 0; i < WARMUP + iterations; i++) {
    for (const r of i % 2 ? readers : [...readers].reverse()) {
      await sleep(SPACING_MS);
      const t0 = process.hrtime.bigint();
      await r.reader.collect();
      if (i >= WARMUP) r.wall.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  for (const r of readers) {
    r.stop();
    await r.provider.shutdown();
    r.wall.sort((a, b) => a - b);
  }
  const at = (wall, q) => wall[Math.floor(q * wall.length)];
  const [all, without] = readers.map((r) => r.wall);
  const own = timings.slice(WARMUP).sort((a, b) => a - b);
  return { p25: at(all, 0.25) - at(without, 0.25), median: at(all, 0.5) - at(without, 0.5), own: own.length ? { p25: at(own, 0.25), median: at(own, 0.5) } : undefined };
}

const cases = [
  ['sdk only (no instruments)', () => {}, 100],
  ['@mon/host, default (all groups)', mon({}), 100],
  // The container group's share of a full collection (the first read after an idle spell costs the most, and a full collection pays it once): see share() below.
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
const s = await share(300);
if (s.own) console.log(`\ncontainer producer's own collect() in those collections: median ${s.own.median.toFixed(0)} µs, p25 ${s.own.p25.toFixed(0)} µs`);
console.log(`${s.own ? '' : '\n'}container group's share of a full collection (default vs without, interleaved): median ${s.median.toFixed(0)} µs, p25 ${s.p25.toFixed(0)} µs`);
