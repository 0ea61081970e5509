// What the live page's in-process history costs (src/history.ts): CPU per sample, bytes kept when
// full, and the idle cost of the second event-loop delay sampler its peeks keep open.
//
//   npm run build && node --expose-gc packages/live/bench/history.bench.mjs [routes]
//
// A sample is what the timer does every HISTORY_STEP_MS: a peek collection of a real
// PrometheusReader over @mon/host's instruments plus HTTP-shaped series (`routes` routes x 3
// status codes, default 20), rendered as text, parsed, turned into the page's figures.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { startHostMetrics } from '@mon/host';
import { PrometheusReader } from '@mon/prometheus';
import { createLiveHistory } from '../dist/index.js';

const ROUTES = Number(process.argv[2] ?? 20);
const SAMPLES = 200;
const IDLE_MS = 20_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const gc = globalThis.gc ?? (() => { throw new Error('run with node --expose-gc'); });

let host;
const reader = new PrometheusReader({ port: 0, host: '127.0.0.1', peek: (collect) => host.peek(collect) });
const provider = new MeterProvider({ readers: [reader] });
host = startHostMetrics(provider);
const meter = provider.getMeter('bench');
const requests = meter.createCounter('http.server.requests');
const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
const record = () => {
  for (let r = 0; r < ROUTES; r++) {
    for (const status of [200, 404, 500]) {
      const attributes = { 'http.request.method': 'GET', 'http.route': `/route/${r}`, 'http.response.status_code': status };
      requests.add(1, attributes);
      duration.record(Math.random() / 100, attributes);
    }
  }
};
await reader.ready;
const collect = async () => (await reader.collectText(undefined, { peek: true })).body;
record();
const text = await collect();
console.log(`exposition: ${text.split('\n').filter((l) => l && l[0] !== '#').length} samples, ${(text.length / 1024).toFixed(0)} KiB`);

// CPU per sample (the page's peeks and the history's share the work; this is the history's alone).
const history = createLiveHistory({ collect });
for (let i = 0; i < 10; i++) await history.sample();
const cpu = [];
for (let i = 0; i < SAMPLES; i++) {
  record();
  await sleep(5);
  const c0 = process.cpuUsage();
  await history.sample();
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
cpu.sort((a, b) => a - b);
const median = cpu[Math.floor(cpu.length / 2)];
console.log(`cpu per sample: median ${median.toFixed(2)} ms, p90 ${cpu[Math.floor(cpu.length * 0.9)].toFixed(2)} ms`);
console.log(`  every 10 s: ${((median / 10_000) * 100).toFixed(3)} % of a core; every 2 s: ${((median / 2_000) * 100).toFixed(3)} %`);

// Bytes kept when full: the points plus the last collection's counters.
const fresh = createLiveHistory({ collect });
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < fresh.capacity + 5; i++) {
  record();
  await fresh.sample();
}
gc();
const after = process.memoryUsage().heapUsed;
console.log(`kept when full (${fresh.points().length} points): ${((after - before) / 1024).toFixed(0)} KiB of heap`);

// The peek window's event-loop delay sampler (a second 10 ms libuv timer while peeks come within
// a minute of each other), idle: CPU of the process over IDLE_MS with one sampler, then two.
async function idleCpu(samplers) {
  const histograms = Array.from({ length: samplers }, () => monitorEventLoopDelay({ resolution: 10 }));
  for (const h of histograms) h.enable();
  const c0 = process.cpuUsage();
  await sleep(IDLE_MS);
  const c = process.cpuUsage(c0);
  for (const h of histograms) h.disable();
  return (c.user + c.system) / 1000 / IDLE_MS;
}
await provider.shutdown();
host.stop();
const one = await idleCpu(1);
const two = await idleCpu(2);
console.log(`idle, one delay sampler: ${(one * 100).toFixed(3)} % of a core; two: ${(two * 100).toFixed(3)} %`);
