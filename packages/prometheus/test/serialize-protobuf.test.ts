// The protobuf exposition: golden bytes for the framing and one family, then protoc (with
// Prometheus' own metrics.proto) decodes every kind of metric, and the decoded series equal the text
// exposition's, label for label and number for number; native buckets equal the SDK's.
import { AggregationType, DataPointType, type ExponentialHistogram, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ProtobufWriter } from '../src/protobuf-writer.js';
import { serializeProtobuf, serializeProtobufChunks } from '../src/serialize-protobuf.js';
import { CHUNK_LENGTH, serialize } from '../src/serialize.js';
import { parseTextFormat, protocAvailable, protocDecode, splitDelimited, type TextMessage } from './protoc.js';
import { testProvider } from './provider.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('ProtobufWriter', () => {
  it('writes varints, zigzag integers, doubles and strings as the protobuf encoding defines them', () => {
    const out = new ProtobufWriter();
    out.uint64Field(1, 300); // 08 ac02
    out.uint64Field(1, 2 ** 40); // 08 808080808020: five empty 7-bit groups, then 2^5
    out.sintField(2, -1); // 10 01
    out.sintField(2, 1); // 10 02
    out.sintField(2, -69); // 10 89 01
    out.doubleField(3, 1); // 19 000000000000f03f
    out.stringField(4, 'ó'); // 22 02 c3b3
    expect(hex(out.take())).toBe('08ac02' + '08808080808020' + '1001' + '1002' + '108901' + '19000000000000f03f' + '2202c3b3');
  });

  it('writes the fused messages exactly as the general methods would', () => {
    const general = new ProtobufWriter();
    const fused = new ProtobufWriter();
    for (const [name, value] of [['a', 'b'], ['http_route', '/users/:id'], ['k', 'żółć 😀'], ['long', 'x'.repeat(200)], ['', '']]) {
      general.begin(1);
      general.stringField(1, name!);
      general.stringField(2, value!);
      general.end();
      fused.stringPairMessage(1, name!, value!);
    }
    for (const [count, bound] of [[0, 0.005], [300, 1], [2 ** 40, Infinity]]) {
      general.begin(3);
      general.uint64Field(1, count!);
      general.doubleField(2, bound!);
      general.end();
      fused.bucketMessage(3, count!, bound!);
    }
    for (const value of [1, -0.5, Number.NaN]) {
      general.begin(2);
      general.doubleField(1, value);
      general.end();
      fused.doubleMessage(2, value);
    }
    expect(hex(fused.take())).toBe(hex(general.take()));
  });

  it('prefixes nested messages with their length, also when it needs two or three bytes', () => {
    for (const size of [0, 1, 127, 128, 300, 20_000]) {
      const out = new ProtobufWriter();
      out.beginDelimited();
      out.begin(1);
      out.stringField(2, 'x'.repeat(size));
      out.end();
      out.end();
      const bytes = out.take();
      const [message] = splitDelimited(bytes);
      // field 1 (wire type 2), its length, then field 2's tag, length and the text.
      const inner = Buffer.concat([Buffer.from([0x12]), varint(size), Buffer.from('x'.repeat(size))]);
      expect(hex(message!)).toBe(hex(Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner])));
    }
  });
});

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

describe('serializeProtobuf', () => {
  it('writes a counter family as golden bytes', async () => {
    const { provider, collect } = testProvider();
    provider.getMeter('m').createCounter('c').add(3, { a: 'b' });
    const bytes = serializeProtobuf(await collect(), { withTargetInfo: false });
    expect(hex(bytes)).toBe(
      '23' + // the family's length (35), encoding=delimited
        '0a07' + hex(Buffer.from('c_total')) + // name
        '120163' + // help: the instrument name, as there is no description
        '1800' + // type COUNTER
        '2213' + // metric (19 bytes)
        '0a06' + '0a0161' + '120162' + // label a="b"
        '1a09' + '090000000000000840', // counter { value: 3 }
    );
  });

  it('yields pieces of at least CHUNK_LENGTH bytes, cut between families', async () => {
    const { provider, collect } = testProvider();
    const meter = provider.getMeter('m');
    for (let f = 0; f < 40; f++) {
      const counter = meter.createCounter(`family.${f}`);
      for (let s = 0; s < 100; s++) counter.add(1, { series: `series-${s}` });
    }
    const metrics = await collect();
    const chunks = [...serializeProtobufChunks(metrics)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(CHUNK_LENGTH);
    expect(hex(Buffer.concat(chunks))).toBe(hex(serializeProtobuf(metrics)));
    // Each piece is whole messages.
    for (const chunk of chunks) expect(() => splitDelimited(chunk)).not.toThrow();
  });
});

describe.skipIf(!protocAvailable)('protoc --decode=io.prometheus.client.MetricFamily (metrics.proto of prometheus/client_model)', () => {
  it('decodes every family and the series equal the text exposition', async () => {
    const metrics = await everyKind();
    const families = splitDelimited(serializeProtobuf(metrics)).map((m) => parseTextFormat(protocDecode(m)));
    const names = families.map((f) => f.name![0]);
    expect(names).toContain('target_info');
    expect(names).toContain('http_server_requests_total');
    expect(names).toContain('http_server_request_duration_seconds');
    expect(names).toContain('system_cpu_utilization_ratio');
    // The exponential histogram has no text form; it is compared on its own below.
    const classic = families.filter((f) => f.name![0] !== 'exp_hist');
    expect(seriesOfProtobuf(classic)).toEqual(seriesOfText(serialize(metrics)));
    const types = Object.fromEntries(families.map((f) => [f.name![0], f.type![0]]));
    expect(types).toMatchObject({
      target_info: 'GAUGE',
      http_server_requests_total: 'COUNTER',
      http_server_request_duration_seconds: 'HISTOGRAM',
      http_server_active_requests: 'GAUGE',
      exp_hist: 'HISTOGRAM',
    });
    const units = Object.fromEntries(families.map((f) => [f.name![0], f.unit?.[0]]));
    expect(units).toMatchObject({ http_server_request_duration_seconds: 'seconds', system_cpu_utilization_ratio: 'ratio', http_server_requests_total: undefined });
  });

  it('gives an exponential histogram native buckets equal to the SDK ones, at most schema 8', async () => {
    const { provider, collect } = testProvider({
      views: [{ instrumentName: 'latency', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const latency = provider.getMeter('m').createHistogram('latency', { unit: 's' });
    // A narrow range: the SDK keeps scale 20, which Prometheus does not accept, so it is lowered to 8.
    const values = [0.05, 0.0501, 0.051, 0.051, 0.052, 0];
    for (const v of values) latency.record(v);
    const metrics = await collect();
    const sdkPoint = metrics.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!.value as ExponentialHistogram;
    expect(sdkPoint.scale).toBeGreaterThan(8);

    const [family] = splitDelimited(serializeProtobuf(metrics, { withTargetInfo: false })).map((m) => parseTextFormat(protocDecode(m)));
    const h = (family!.metric![0] as TextMessage).histogram![0] as TextMessage;
    expect(h.schema).toEqual([8]);
    expect(h.sample_count).toEqual([values.length]);
    expect(h.zero_count).toEqual([1]);
    expect(h.zero_threshold![0]).toBeGreaterThan(0);
    const buckets = nativeBuckets(h, 'positive');
    let total = 0;
    for (const count of buckets.values()) total += count;
    expect(total).toBe(values.length - 1);
    // Every value sits in a bucket (base^(i-1), base^i] that holds at least as many values.
    for (const v of values.filter((x) => x > 0)) {
      const index = Math.ceil(Math.log2(v) * 2 ** 8);
      expect(buckets.get(index), `bucket of ${v}`).toBeGreaterThanOrEqual(values.filter((x) => x === v).length);
    }
  });

  it('carries the classic and the native buckets of a histogram point that has both', async () => {
    const metrics: ResourceMetrics = {
      resource: { attributes: {} } as ResourceMetrics['resource'],
      scopeMetrics: [
        {
          scope: { name: 's' },
          metrics: [
            {
              descriptor: { name: 'd', description: '', unit: 's', valueType: 1 },
              aggregationTemporality: 1,
              dataPointType: DataPointType.HISTOGRAM,
              dataPoints: [
                {
                  startTime: [0, 0],
                  endTime: [1, 0],
                  attributes: { route: '/a' },
                  value: {
                    buckets: { boundaries: [0.05, 0.1], counts: [1, 3, 0] },
                    count: 4,
                    sum: 0.3,
                    // OpenTelemetry buckets -70 .. -66 at scale 4; -69 and -68 are empty, a gap short enough to stay in one span.
                    exponential: {
                      count: 4,
                      sum: 0.3,
                      scale: 4,
                      zeroCount: 0,
                      positive: { offset: -70, bucketCounts: [1, 0, 0, 2, 1] },
                      negative: { offset: 0, bucketCounts: [] },
                    },
                  } as never,
                },
              ],
            },
          ],
        },
      ],
    };
    const [family] = splitDelimited(serializeProtobuf(metrics, { withTargetInfo: false })).map((m) => parseTextFormat(protocDecode(m)));
    const h = (family!.metric![0] as TextMessage).histogram![0] as TextMessage;
    expect((h.bucket as TextMessage[]).map((b) => [b.upper_bound![0], b.cumulative_count![0]])).toEqual([
      [0.05, 1],
      [0.1, 4],
    ]);
    expect(h.schema).toEqual([4]);
    // One span from Prometheus index -69 (OpenTelemetry's -70 + 1), five buckets, as deltas.
    expect(h.positive_span).toEqual([{ offset: [-69], length: [5] }]);
    expect(h.positive_delta).toEqual([1, -1, 0, 2, -1]);
    expect(h.negative_span).toBeUndefined();
  });
});

async function everyKind(): Promise<ResourceMetrics> {
  const { provider, collect } = testProvider({
    resource: { 'service.name': 'protobuf "check"', 'process.command_args': ['--token', 'secret'], 'host.name': 'żółć' },
    views: [{ instrumentName: 'exp.hist', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('protobuf-test', '1.0.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests "served"\nback\\slash.' });
  const duration = meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.005, 0.01, 0.1, 1, 10] } });
  const hostile = ['back\\slash', 'double "quotes"', 'new\nline', 'żółć 日本語 😀', 'lone \ud800 surrogate', ''];
  hostile.forEach((value, i) => {
    requests.add(i + 1, { 'http.route': value, 'http.request.method': 'GET' });
    duration.record(i / 10, { 'http.route': value });
  });
  requests.add(1, { 'weird-key.with/chars': 'x', '1st.key': 'y', _private: 'z', 'a.b': 'p', a_b: 'q', n: 1 });
  meter.createUpDownCounter('http.server.active_requests', { unit: '{request}' }).add(3);
  meter.createObservableGauge('system.cpu.utilization', { unit: '1' }).addCallback((r) => {
    r.observe(0.5, { 'cpu.mode': 'user' });
    r.observe(Number.NaN, { 'cpu.mode': 'nan' });
    r.observe(-Infinity, { 'cpu.mode': 'ninf' });
  });
  meter.createHistogram('exp.hist').record(1);
  return collect();
}

/** name{sorted labels} -> value, from decoded families (classic histograms as their text series). */
function seriesOfProtobuf(families: TextMessage[]): Map<string, number> {
  const series = new Map<string, number>();
  for (const family of families) {
    const name = family.name![0] as string;
    for (const metric of (family.metric ?? []) as TextMessage[]) {
      const labels: Record<string, string> = {};
      for (const label of (metric.label ?? []) as TextMessage[]) labels[label.name![0] as string] = label.value![0] as string;
      const h = metric.histogram?.[0] as TextMessage | undefined;
      if (h === undefined) {
        const value = ((metric.counter ?? metric.gauge)![0] as TextMessage).value?.[0] ?? 0;
        series.set(seriesKey(name, labels), value as number);
        continue;
      }
      for (const b of (h.bucket ?? []) as TextMessage[]) series.set(seriesKey(`${name}_bucket`, { ...labels, le: String(b.upper_bound![0]) }), b.cumulative_count![0] as number);
      series.set(seriesKey(`${name}_bucket`, { ...labels, le: '+Inf' }), h.sample_count![0] as number);
      series.set(seriesKey(`${name}_sum`, labels), h.sample_sum![0] as number);
      series.set(seriesKey(`${name}_count`, labels), h.sample_count![0] as number);
    }
  }
  return series;
}

/** name{sorted labels} -> value, from text 0.0.4. */
function seriesOfText(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace === -1 ? line.slice(0, space) : line.slice(0, brace);
    const labels: Record<string, string> = {};
    if (brace !== -1) {
      const pattern = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?/gy;
      pattern.lastIndex = brace + 1;
      let match;
      while ((match = pattern.exec(line)) !== null) labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    // `le` values compare as numbers: the text writes them in canonical form (1.0).
    if (labels.le !== undefined && labels.le !== '+Inf') labels.le = String(Number(labels.le));
    const raw = line.slice(space + 1);
    series.set(seriesKey(name, labels), raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw));
  }
  return series;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return name + JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Prometheus bucket index -> count, from spans and deltas. */
function nativeBuckets(h: TextMessage, side: 'positive' | 'negative'): Map<number, number> {
  const buckets = new Map<number, number>();
  const deltas = (h[`${side}_delta`] ?? []) as number[];
  let index = 0;
  let count = 0;
  let d = 0;
  for (const span of (h[`${side}_span`] ?? []) as TextMessage[]) {
    index += span.offset![0] as number;
    for (let i = 0; i < (span.length![0] as number); i++) {
      count += deltas[d++]!;
      buckets.set(index++, count);
    }
  }
  expect(d).toBe(deltas.length);
  return buckets;
}
