// What the event loop delay histogram costs (issue 23 item 5): per sample, and per collection.
//
// record: the sampler's tick hands its sample to the cumulative histogram (event-loop-sampler.ts
// record(); its slot bookkeeping for the window figures is the same before and after, and left
// out). Before: the SDK histogram nodejs.eventloop.delay, one histogram.record(seconds) per sample
// and one per zero of an idle tick (1 + 49 calls: an idle tick stands for 50 samples of 10 ms).
// After: @mon/register's EventLoopDelayHistogram.record(micros, zeros), classic and native
// buckets, one call per tick. The samples are the delays of a real loaded loop's ticks (a spread
// of 30 µs to 300 ms), taken in turn from a table; ns per busy tick and per idle tick.
//
// collect: one collection of a MeterProvider with the host runtime group (startHostMetrics),
// its delay histogram from the SDK (before) or from the recorder's producer on the reader with
// native buckets (after), the two providers collected alternately every SPACING_MS, as
// packages/host/bench/collect.bench.mjs's share() does, so the machine's load falls on both.
//
//   npm run build && node test/bench/event-loop-record.mjs
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { DELAY_BUCKETS } from '@mon/host/event-loop-delay';
import { startHostMetrics } from '@mon/host';
import { EventLoopDelayHistogram } from '../../packages/register/dist/event-loop-delay.js';

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Delays in µs: mostly a few tens to hundreds of µs, some ms, a rare stall.
const SAMPLES = Array.from({ length: 4096 }, (_, i) => {
  const r = ((i * 2654435761) >>> 0) / 2 ** 32;
  return r < 0.9 ? 30 + r * 500 : r < 0.995 ? 1_000 + (r - 0.9) * 200_000 : 300_000;
});

function sdkRecorder() {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('@mon/host').createHistogram('nodejs.eventloop.delay', { unit: 's', advice: { explicitBucketBoundaries: DELAY_BUCKETS } });
  // As event-loop.ts's sdkHistogram() (and the sampler's onSample before): one call per sample.
  return {
    record(micros, zeros) {
      histogram.record(micros / 1e6);
      for (let i = 0; i < zeros; i++) histogram.record(0);
    },
  };
}

function perTick(recorder, zeros, ticks) {
  for (let i = 0; i < 20_000; i++) recorder.record(SAMPLES[i & 4095], zeros); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ticks; i++) recorder.record(SAMPLES[i & 4095], zeros);
  return Number(process.hrtime.bigint() - t0) / ticks;
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
console.log('record (ns per tick; median of 7 runs)'.padEnd(44), 'busy tick'.padStart(10), 'idle tick (1 + 49 zeros)'.padStart(26));
for (const [name, make] of [
  ['before: SDK histogram', sdkRecorder],
  ['after: EventLoopDelayHistogram', () => new EventLoopDelayHistogram()],
]) {
  const busy = [];
  const idle = [];
  for (let run = 0; run < 7; run++) {
    busy.push(perTick(make(), 0, 1_000_000));
    idle.push(perTick(make(), 49, 100_000));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log(name.padEnd(44), median(busy).toFixed(0).padStart(10), median(idle).toFixed(0).padStart(26));
}

const SPACING_MS = 15;
const WARMUP = 10;
const ITERATIONS = 300;
const variants = [
  ['before: runtime group, SDK histogram', () => ({})],
  ['after: runtime group, recorder + producer', () => {
    const delay = new EventLoopDelayHistogram();
    return { delay, producers: [delay.producer()] };
  }],
].map(([name, make]) => {
  const { delay, producers = [] } = make();
  const reader = new Reader({ metricProducers: producers });
  const provider = new MeterProvider({ readers: [reader] });
  const host = startHostMetrics(provider, { groups: ['runtime'], ...(delay ? { delayHistogram: delay } : {}) });
  return { name, reader, provider, host, wall: [] };
});
for (let i = 0; i < WARMUP + ITERATIONS; i++) {
  for (const v of i % 2 ? variants : [...variants].reverse()) {
    await sleep(SPACING_MS);
    const t0 = process.hrtime.bigint();
    const { resourceMetrics } = await v.reader.collect();
    if (i >= WARMUP) v.wall.push(Number(process.hrtime.bigint() - t0) / 1000);
    v.points = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).reduce((n, m) => n + m.dataPoints.length, 0);
  }
}
console.log(`\ncollect (µs; ${ITERATIONS} collections each, alternately, every ${SPACING_MS} ms)`.padEnd(44), 'points'.padStart(7), 'p25'.padStart(7), 'median'.padStart(7), 'p90'.padStart(7));
for (const v of variants) {
  v.host.stop();
  await v.provider.shutdown();
  v.wall.sort((a, b) => a - b);
  const at = (q) => v.wall[Math.floor(q * v.wall.length)].toFixed(0);
  console.log(v.name.padEnd(44), String(v.points).padStart(7), at(0.25).padStart(7), at(0.5).padStart(7), at(0.9).padStart(7));
}
