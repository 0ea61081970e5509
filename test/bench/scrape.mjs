// Scrape cost: how long rendering /metrics takes and how many bytes it sends, at 100 to 100 000
// series, for @mon/prometheus, @opentelemetry/exporter-prometheus and prom-client on the same data;
// then the scrape of a real app's default set, as Prometheus sees it.
//
// Series are counted as Prometheus counts them: one per sample line (a histogram point with 16
// boundaries is 19 series: 17 buckets, _sum and _count). Two shapes of data, each with N series:
//   - "counter + histogram": N/20 attribute sets on a counter and on a 16-boundary histogram
//     (1 + 19 lines per attribute set), the shape of request metrics;
//   - "counter only": N attribute sets on one counter, the worst case per series (every line
//     renders its own label set).
// Attribute sets look like HTTP ones: method, a distinct route, status code (servers/synthetic-series.mjs,
// shared with the scrape-impact app). One MeterProvider holds the data, read by both OpenTelemetry-side
// readers (mon's PrometheusReader and the OTel PrometheusExporter with its server off), so both
// serializers see the same points; prom-client gets a Registry with the same metric names, buckets,
// label sets and values.
//
// Timed, in this process, interleaved (each sample runs every implementation once, order rotated):
//   mon serialize      serialize(resourceMetrics) from packages/prometheus/dist: the exposition alone
//   OTel serialize     PrometheusSerializer#serialize on the same ResourceMetrics object
//   mon collectText    PrometheusReader#collectText(): SDK collection + serialize into one string
//   mon scrape         SDK collection + serializeChunks(), each chunk encoded and dropped: what /metrics runs
//   OTel collect+ser.  PrometheusExporter#collect() + its serializer, what its /metrics runs
//   prom-client        registry.metrics()
//   mon protobuf serialize / scrape   the same two for the protobuf exposition (what a Prometheus
//                      with native histograms asks for): serializeProtobuf(), and collection +
//                      serializeProtobufChunks(); series counted by walking the messages
// Each timing ends with the text encoded to UTF-8 (Buffer.from), as writing it to the socket does:
// all three build the text by concatenation, and V8 flattens such a string only when it is used,
// so without the encoding part of the cost would fall outside the timing.
// A full GC runs before each timed sample, so no implementation pays for another's garbage.
// Times are medians over samples (at least 7, about 1 s per implementation and size). The run of
// one size is retried when other processes took CPU meanwhile (lib/cpu.mjs). Each output's series
// count is checked: nothing may be lost to cardinality limits (raised by a view here; the SDK's
// default caps an instrument at 2000 attribute sets).
//
//   node test/bench/scrape.mjs [--quick] [--scrape-sizes 100,1000,10000,100000]
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import client from 'prom-client';
import { PrometheusReader, serialize } from '../../packages/prometheus/dist/index.js';
import { serializeProtobuf, serializeProtobufChunks } from '../../packages/prometheus/dist/serialize-protobuf.js';
import { serializeChunks } from '../../packages/prometheus/dist/serialize.js';
import { describeCpu, MAX_OTHERS_PERCENT, undisturbed } from './lib/cpu.mjs';
import { mainIf } from './lib/options.mjs';
import { get, timedGet } from './lib/process.mjs';
import { fixed, load, machine, median, progress, section, summaryRow, table } from './lib/report.mjs';
import { commandOf, countedRequests, selectVariants, start } from './lib/variants.mjs';
import { wrk } from './lib/wrk.mjs';
import { attributeSet, BOUNDARIES, record, SERIES_PER_SET, valuesOf } from './servers/synthetic-series.mjs';

const SHAPES = [
  { id: 'mixed', name: 'counter + histogram', seriesPerSet: SERIES_PER_SET },
  { id: 'counter', name: 'counter only', seriesPerSet: 1 },
];
const LABELS = ['http_request_method', 'http_route', 'http_response_status_code'];
const MIN_SAMPLES = 7;
const MAX_SAMPLES = 51;
const BUDGET_MS = 1000;

const IMPLEMENTATIONS = [
  { id: 'monSerialize', name: 'mon serialize' },
  { id: 'otelSerialize', name: 'OTel serialize' },
  { id: 'monCollect', name: 'mon collectText' },
  { id: 'monScrape', name: 'mon scrape (chunks)' },
  { id: 'otelCollect', name: 'OTel collect + serialize' },
  { id: 'prom', name: 'prom-client metrics()' },
  { id: 'monProtobuf', name: 'mon protobuf serialize', protobuf: true },
  { id: 'monScrapeProtobuf', name: 'mon protobuf scrape (chunks)', protobuf: true },
];

/** The same data in an sdk-metrics MeterProvider (two readers) and a prom-client Registry. */
async function build(shape, series) {
  const sets = series / shape.seriesPerSet;
  const monReader = new PrometheusReader({ host: '127.0.0.1', port: 0 });
  const otelExporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'scrape-bench', 'service.version': '1.0.0' }),
    views: [{ instrumentName: '*', aggregationCardinalityLimit: sets + 1 }],
    readers: [monReader, otelExporter],
  });
  const counterOnly = shape.id === 'counter';
  record(provider.getMeter('scrape-bench', '1.0.0'), sets, { counterOnly });

  const registry = new client.Registry();
  const promCounter = new client.Counter({ name: 'app_requests_total', help: 'Requests handled.', labelNames: LABELS, registers: [registry] });
  const promHistogram = counterOnly
    ? undefined
    : new client.Histogram({
        name: 'app_request_duration_seconds',
        help: 'Request duration.',
        labelNames: LABELS,
        buckets: BOUNDARIES,
        registers: [registry],
      });
  for (let i = 0; i < sets; i++) {
    const a = attributeSet(i);
    const labels = {
      http_request_method: a['http.request.method'],
      http_route: a['http.route'],
      http_response_status_code: a['http.response.status_code'],
    };
    promCounter.inc(labels, i + 1);
    if (promHistogram) for (const v of valuesOf(i)) promHistogram.observe(labels, v);
  }
  const { resourceMetrics } = await monReader.collect();
  const otelSerializer = new PrometheusSerializer();
  const run = {
    monSerialize: () => serialize(resourceMetrics),
    otelSerialize: () => otelSerializer.serialize(resourceMetrics),
    monCollect: async () => (await monReader.collectText()).body,
    // What mon's /metrics runs: collect, then render and encode one chunk at a time, each dropped
    // once written (kept and joined only when the output is checked).
    monScrape: async (keep) => {
      const { resourceMetrics } = await monReader.collect();
      const kept = [];
      for (const chunk of serializeChunks(resourceMetrics)) {
        const bytes = Buffer.from(chunk);
        if (keep) kept.push(bytes);
      }
      return keep ? Buffer.concat(kept) : Buffer.alloc(0);
    },
    otelCollect: async () => otelSerializer.serialize((await otelExporter.collect()).resourceMetrics),
    prom: () => registry.metrics(),
    monProtobuf: () => serializeProtobuf(resourceMetrics),
    monScrapeProtobuf: async (keep) => {
      const { resourceMetrics } = await monReader.collect();
      const kept = [];
      for (const chunk of serializeProtobufChunks(resourceMetrics)) if (keep) kept.push(chunk);
      return keep ? Buffer.concat(kept) : Buffer.alloc(0);
    },
  };
  return { run, shutdown: () => provider.shutdown() };
}

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

/** The output as UTF-8, as writing it to a socket encodes it; mon's chunks come encoded already. */
const encoded = (output) => (Buffer.isBuffer(output) ? output : Buffer.from(output));

const sampleLines = (text) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

/**
 * Series in a delimited MetricFamily stream, counted as the text would have them: one per counter
 * or gauge, a histogram's buckets plus +Inf, _sum and _count.
 */
function protobufSeries(bytes) {
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  // Calls visit(field, start, end) for each length-delimited field of the message in [start, end).
  const fields = (start, end, visit) => {
    at = start;
    while (at < end) {
      const key = varint();
      const type = key & 7;
      if (type === 0) varint();
      else if (type === 1) at += 8;
      else if (type === 5) at += 4;
      else {
        const length = varint();
        const from = at;
        at += length;
        const resume = at;
        visit(key >>> 3, from, from + length);
        at = resume;
      }
    }
  };
  let series = 0;
  let position = 0;
  while (position < bytes.length) {
    at = position;
    const length = varint();
    const start = at;
    fields(start, start + length, (field, from, to) => {
      if (field !== 4) return; // MetricFamily.metric
      let counted = 1;
      fields(from, to, (f, hFrom, hTo) => {
        if (f !== 7) return; // Metric.histogram
        counted = 3; // +Inf, _sum, _count
        fields(hFrom, hTo, (h) => {
          if (h === 3) counted++; // Histogram.bucket
        });
      });
      series += counted;
    });
    position = start + length;
  }
  return series;
}

/** Times every implementation on one data set, interleaved; medians in ms, bytes and series. */
async function measureSize(shape, series) {
  const data = await build(shape, series);
  try {
    const out = {};
    const times = Object.fromEntries(IMPLEMENTATIONS.map((impl) => [impl.id, []]));
    let slowest = 0;
    for (const impl of IMPLEMENTATIONS) {
      // Warm-up (JIT, first-collection work), and the output checked once.
      let text;
      const t0 = performance.now();
      for (let i = 0; i < 2; i++) text = encoded(await data.run[impl.id](true));
      slowest = Math.max(slowest, (performance.now() - t0) / 2);
      out[impl.id] = { bytes: text.length, series: impl.protobuf ? protobufSeries(text) : sampleLines(text.toString()) };
    }
    const samples = Math.min(MAX_SAMPLES, Math.max(MIN_SAMPLES, Math.ceil(BUDGET_MS / slowest)));
    for (let s = 0; s < samples; s++) {
      for (let k = 0; k < IMPLEMENTATIONS.length; k++) {
        const impl = IMPLEMENTATIONS[(k + s) % IMPLEMENTATIONS.length];
        // A full GC first: each implementation pays for its own garbage, not for the one before it.
        collectGarbage();
        const t0 = performance.now();
        encoded(await data.run[impl.id](false));
        times[impl.id].push(performance.now() - t0);
      }
    }
    for (const impl of IMPLEMENTATIONS) out[impl.id].ms = median(times[impl.id]);
    out.samples = samples;
    return out;
  } finally {
    await data.shutdown();
  }
}

/** A real app's /metrics: each instrumented variant after 2 s of load, scraped 21 times, 100 ms apart. */
async function measureDefaultSet(variant, connections) {
  const server = await start(variant);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await get(server.url);
    await wrk(server.url, { seconds: 2, connections });
    await countedRequests(variant, server);
    const times = [];
    let last;
    for (let i = 0; i < 21; i++) {
      await sleep(100);
      last = await timedGet(server.metricsUrl, agent);
      if (last.status !== 200) throw new Error(`${commandOf(variant)}: ${server.metricsUrl} answered ${last.status}`);
      times.push(last.ms);
    }
    return { ms: median(times), max: Math.max(...times), bytes: last.bytes, series: sampleLines(last.body) };
  } finally {
    agent.destroy();
    await server.stop();
  }
}

export async function run(options) {
  const sizes = options.scrapeSizes;
  const loadBefore = load();
  let retried = 0;
  const disturbed = [];
  const results = new Map();
  progress(`scrape: ${SHAPES.length} shapes x ${sizes.length} sizes x ${IMPLEMENTATIONS.length} implementations`);
  for (const shape of SHAPES) {
    for (const series of sizes) {
      const m = await undisturbed(() => measureSize(shape, series), {
        onRetry: (cpu) => progress(`  ${shape.name} ${series}: ${describeCpu(cpu)}, retrying`),
      });
      retried += m.retries;
      if (m.cpu.disturbed) disturbed.push(`${shape.name} ${series} (${describeCpu(m.cpu)})`);
      const r = m.value;
      for (const impl of IMPLEMENTATIONS) {
        // At least the N series (plus target_info, otel_scope_info): fewer means a cardinality
        // limit folded attribute sets into an overflow series, and the sizes would not compare.
        if (r[impl.id].series < series) {
          throw new Error(`${impl.name} rendered ${r[impl.id].series} series for ${series} (${shape.name}): data lost`);
        }
      }
      results.set(`${shape.id}:${series}`, r);
      progress(
        `  ${shape.name} ${series}: ` + IMPLEMENTATIONS.map((impl) => `${impl.name} ${fixed(r[impl.id].ms, 2)} ms`).join(', '),
      );
    }
  }

  const defaults = [];
  for (const variant of selectVariants(options.only).filter((v) => v.metrics)) {
    const m = await measureDefaultSet(variant, options.connections);
    defaults.push([variant, m]);
    progress(`  default set, ${variant.group} ${variant.name}: ${fixed(m.ms, 2)} ms, ${m.bytes} bytes, ${m.series} series`);
  }

  const summary = [];
  const defaultOf = (name) => defaults.find(([v]) => v.group === 'node:http' && v.name === name) ?? defaults.find(([v]) => v.name === name);
  const monDefault = defaultOf('mon');
  if (monDefault) {
    const [v, m] = monDefault;
    summary.push(
      summaryRow(
        `scrape of a real app's default set, ms (client-side median), ${v.group}`,
        `${fixed(m.ms, 2)} (${m.series} series)`,
        defaults
          .filter(([p]) => p.name !== 'mon')
          .map(([p, pm]) => `${p.name} ${fixed(pm.ms, 2)} (${pm.series} series)`)
          .join('; '),
        '≤ 5',
        m.ms <= 5,
      ),
    );
  }
  for (const shape of SHAPES) {
    const at = (series) => results.get(`${shape.id}:${series}`);
    if (at(10_000)) {
      const r = at(10_000);
      summary.push(
        summaryRow(
          `collect + serialize 10 000 series, ms, ${shape.name}`,
          `${fixed(r.monScrape.ms, 1)} (as one string: ${fixed(r.monCollect.ms, 1)})`,
          `OTel exporter ${fixed(r.otelCollect.ms, 1)}; prom-client ${fixed(r.prom.ms, 1)}; mon protobuf ${fixed(r.monScrapeProtobuf.ms, 1)}`,
          '≤ 30',
          r.monScrape.ms <= 30,
        ),
      );
    }
    const [small, large] = sizes.slice(-2);
    if (large !== undefined && large === small * 10) {
      const growth = (id) => at(large)[id].ms / at(small)[id].ms;
      summary.push(
        summaryRow(
          `growth ${small} → ${large} series (time ×), collect + serialize, ${shape.name}`,
          `${fixed(growth('monScrape'), 1)}× (as one string: ${fixed(growth('monCollect'), 1)}×)`,
          `OTel exporter ${fixed(growth('otelCollect'), 1)}×; prom-client ${fixed(growth('prom'), 1)}×`,
          'linear (10×; met up to 12.5×)',
          growth('monScrape') <= 12.5,
        ),
      );
    }
  }

  const kb = (bytes) => fixed(bytes / 1024, bytes < 10 * 1024 ? 1 : 0);
  const sections = [
    '## Scrape',
    '',
    `${machine()}; load average ${loadBefore} before, ${load()} after. Series = sample lines. ` +
      '"counter + histogram": N/20 attribute sets (method, route, status) on a counter and on a 16-boundary ' +
      'histogram; "counter only": N attribute sets on one counter. One sdk-metrics MeterProvider feeds mon and the ' +
      'OTel exporter; prom-client holds the same names, buckets, labels and values. Median ms over ' +
      `${MIN_SAMPLES}–${MAX_SAMPLES} interleaved samples in one process; KiB of the text (OTel adds \`otel_scope_*\` ` +
      'labels to every series and `otel_scope_info`, mon does not). *serialize*: the exposition of an already ' +
      'collected ResourceMetrics; *collectText*, *collect + serialize*: SDK collection + serialize into one string, ' +
      'what one scrape runs for the OTel exporter; *mon scrape (chunks)*: SDK collection, then the text rendered and ' +
      'encoded 64 KiB at a time, each piece dropped before the next, what mon\'s /metrics runs (it writes each piece ' +
      'in its own event-loop turn). Every timing includes encoding the text to UTF-8 (`Buffer.from`), as writing it to the socket does.',
    '',
  ];
  for (const shape of SHAPES) {
    const rows = sizes.map((series) => {
      const r = results.get(`${shape.id}:${series}`);
      return [
        String(series),
        ...IMPLEMENTATIONS.map((impl) => fixed(r[impl.id].ms, r[impl.id].ms < 10 ? 2 : 1)),
        kb(r.monSerialize.bytes),
        kb(r.otelSerialize.bytes),
        kb(r.prom.bytes),
        kb(r.monProtobuf.bytes),
      ];
    });
    sections.push(
      `${shape.name[0].toUpperCase()}${shape.name.slice(1)}, ms (and KiB):`,
      '',
      table(
        ['series', ...IMPLEMENTATIONS.map((impl) => `${impl.name} ms`), 'mon KiB', 'OTel KiB', 'prom-client KiB', 'mon protobuf KiB'],
        rows,
        ['r', ...IMPLEMENTATIONS.map(() => 'r'), 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  // Linear growth means constant µs per series. The last column compares the two largest sizes,
  // where fixed costs (headers, target_info, a collection's set-up) no longer dominate.
  const growthRows = [];
  const [a, b] = sizes.slice(-2);
  for (const shape of SHAPES) {
    for (const impl of IMPLEMENTATIONS) {
      const ms = (series) => results.get(`${shape.id}:${series}`)[impl.id].ms;
      const perSeries = sizes.map((series) => fixed((ms(series) * 1000) / series, 2));
      growthRows.push([shape.name, impl.name, ...perSeries, b === undefined ? '–' : `${fixed(ms(b) / ms(a), 1)}×`]);
    }
  }
  sections.push(
    `Growth, µs per series (constant = linear; ${b / a}× the series in linear time is ${b / a}× the time):`,
    '',
    table(['shape', 'implementation', ...sizes.map(String), `time ${b} / time ${a}`], growthRows, [, , ...sizes.map(() => 'r'), 'r']),
    '',
    "A real app's default set: each instrumented server after 2 s of wrk load, scraped 21 times 100 ms apart on a " +
      'keep-alive connection; the time is client-side (request to last byte on loopback: collection with the ' +
      'observable callbacks, serialization, HTTP).',
    '',
    table(
      ['app', 'variant', 'median ms', 'max ms', 'series', 'KiB'],
      defaults.map(([v, m]) => [v.group, v.name, fixed(m.ms, 2), fixed(m.max, 2), String(m.series), kb(m.bytes)]),
      [, , 'r', 'r', 'r', 'r'],
    ),
    '',
    `${retried} size(s) retried because other processes used more than ${MAX_OTHERS_PERCENT}% of a core meanwhile` +
      (disturbed.length ? `; still disturbed after retries, kept: ${disturbed.join('; ')}.` : '; none kept disturbed.'),
  );
  return section(sections.join('\n'), summary);
}

await mainIf(import.meta, run);
