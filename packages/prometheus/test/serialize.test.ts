import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AggregationType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { canonicalFloat, CHUNK_LENGTH, serialize, serializeChunks, type SerializeOptions } from '../src/serialize.js';
import { testProvider } from './provider.js';

// Golden files are the exposition a scraper sees; `UPDATE_GOLDEN=1` rewrites them after a
// deliberate change (review the diff).
function expectGolden(file: string, actual: string): void {
  const path = fileURLToPath(new URL(`golden/${file}`, import.meta.url));
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function both(rm: ResourceMetrics, options: SerializeOptions = {}): { text: string; om: string } {
  return {
    text: serialize(rm, { ...options, format: 'text' }),
    om: serialize(rm, { ...options, format: 'openmetrics' }),
  };
}

const noTarget = { withTargetInfo: false };

describe('serialize: golden files', () => {
  it('counter', async () => {
    const { provider, collect } = testProvider();
    const meter = provider.getMeter('mon-test');
    const requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'HTTP requests served.' });
    requests.add(3, { 'http.request.method': 'GET', 'http.response.status_code': 200 });
    requests.add(1, { 'http.request.method': 'POST', 'http.response.status_code': 500 });
    meter
      .createObservableCounter('process.cpu.time', { unit: 's', description: 'CPU time.' })
      .addCallback((result) => {
        result.observe(1.25, { 'cpu.mode': 'user' });
        result.observe(0.5, { 'cpu.mode': 'system' });
      });
    const { text, om } = both(await collect(), noTarget);
    expectGolden('counter.prom', text);
    expectGolden('counter.om', om);
  });

  it('up-down counter and gauge', async () => {
    const { provider, collect } = testProvider();
    const meter = provider.getMeter('mon-test');
    const active = meter.createUpDownCounter('http.server.active_requests', {
      unit: '{request}',
      description: 'Requests in flight.',
    });
    active.add(2, { 'http.request.method': 'GET' });
    active.add(-1, { 'http.request.method': 'GET' });
    meter.createGauge('system.memory.usage', { unit: 'By', description: 'Memory in use.' }).record(1048576, {
      'system.memory.state': 'used',
    });
    meter
      .createObservableGauge('system.cpu.utilization', { unit: '1', description: 'CPU utilization.' })
      .addCallback((result) => result.observe(0.25));
    meter
      .createObservableUpDownCounter('v8js.memory.heap.used', { unit: 'By', description: 'Heap in use.' })
      .addCallback((result) => result.observe(4096, { 'v8js.heap.space.name': 'new_space' }));
    const { text, om } = both(await collect(), noTarget);
    expectGolden('gauge.prom', text);
    expectGolden('gauge.om', om);
  });

  it('histogram', async () => {
    const { provider, collect } = testProvider();
    const duration = provider.getMeter('mon-test').createHistogram('http.server.request.duration', {
      unit: 's',
      description: 'Duration of HTTP server requests.',
      advice: { explicitBucketBoundaries: [0.001, 0.005, 0.1, 1] },
    });
    for (const v of [0.0005, 0.003, 0.003, 0.05, 2.5]) duration.record(v, { 'http.request.method': 'GET' });
    duration.record(0.2, { 'http.request.method': 'POST', 'http.route': '/users/:id' });
    const { text, om } = both(await collect(), noTarget);
    expectGolden('histogram.prom', text);
    expectGolden('histogram.om', om);
  });

  it('target_info', async () => {
    const { collect } = testProvider({
      resource: {
        'service.name': 'checkout',
        'service.version': '1.2.3',
        'service.instance.id': 'abc-123',
        'telemetry.sdk.language': 'nodejs',
        'process.pid': 4242,
        // Must never be shown: command lines carry secrets.
        'process.command_args': ['node', 'app.js', '--token=secret'],
        'process.command_line': 'node app.js --token=secret',
      },
    });
    const { text, om } = both(await collect());
    expect(text).not.toContain('secret');
    expectGolden('target_info.prom', text);
    expectGolden('target_info.om', om);
  });

  it('escaping', async () => {
    const { provider, collect } = testProvider();
    const counter = provider.getMeter('mon-test').createCounter('escaping.test', {
      description: 'Help with a backslash \\ a "quote" and a\nnewline.',
    });
    counter.add(1, { path: 'C:\\dir\\file' });
    counter.add(2, { quote: 'say "hi"' });
    counter.add(3, { newline: 'two\nlines' });
    counter.add(4, { unicode: 'żółć 日本語 😀' });
    counter.add(5, { lone_surrogate: 'bad\ud800end' });
    const { text, om } = both(await collect(), noTarget);
    expectGolden('escaping.prom', text);
    expectGolden('escaping.om', om);
  });
});

describe('serialize', () => {
  it('writes numbers the Prometheus way', async () => {
    const { provider, collect } = testProvider();
    provider
      .getMeter('mon-test')
      .createObservableGauge('odd.values')
      .addCallback((result) => {
        result.observe(Infinity, { v: 'pinf' });
        result.observe(-Infinity, { v: 'ninf' });
        result.observe(Number.NaN, { v: 'nan' });
        result.observe(1e-7, { v: 'tiny' });
        result.observe(-0.5, { v: 'negative' });
      });
    const text = serialize(await collect(), noTarget);
    expect(text).toContain('odd_values{v="pinf"} +Inf\n');
    expect(text).toContain('odd_values{v="ninf"} -Inf\n');
    expect(text).toContain('odd_values{v="nan"} NaN\n');
    expect(text).toContain('odd_values{v="tiny"} 1e-7\n');
    expect(text).toContain('odd_values{v="negative"} -0.5\n');
  });

  it('ends OpenMetrics with # EOF, also when empty', async () => {
    const { collect } = testProvider();
    const rm = await collect();
    expect(serialize(rm, { ...noTarget, format: 'openmetrics' })).toBe('# EOF\n');
    expect(serialize(rm, noTarget)).toBe('');
  });

  it('joins values of keys that sanitize to one label with `;`, ordered by key', async () => {
    const { provider, collect } = testProvider();
    provider.getMeter('mon-test').createCounter('collide').add(1, { 'a_b': 'second', 'a.b': 'first', c: 'x' });
    const text = serialize(await collect(), noTarget);
    expect(text).toContain('collide_total{a_b="first;second",c="x"} 1\n');
  });

  it('writes non-string attribute values as text and leaves empty ones out', async () => {
    const { provider, collect } = testProvider();
    const counter = provider.getMeter('mon-test').createCounter('typed');
    counter.add(1, { int: 42, float: 1.5, bool: true, list: ['a', 'b'], empty: '' });
    const text = serialize(await collect(), noTarget);
    expect(text).toContain('typed_total{int="42",float="1.5",bool="true",list="[\\"a\\",\\"b\\"]"} 1\n');
  });

  it('merges one name from several scopes into one family, never repeating a series', async () => {
    const { provider, collect } = testProvider();
    provider.getMeter('lib-a', '1.0.0').createCounter('jobs').add(1, { queue: 'a' });
    provider.getMeter('lib-b', '2.0.0').createCounter('jobs').add(2, { queue: 'b' });
    provider.getMeter('lib-c').createCounter('jobs').add(3, { queue: 'a' });
    const drops: string[] = [];
    const text = serialize(await collect(), { ...noTarget, onDrop: (name, reason) => drops.push(`${name}: ${reason}`) });
    expect(text).toBe(
      '# HELP jobs_total jobs\n# TYPE jobs_total counter\njobs_total{queue="a"} 1\njobs_total{queue="b"} 2\n',
    );
    expect(drops).toEqual(['jobs_total: duplicate series {queue="a"}']);
  });

  it.each([
    ['a number and its text', [{ code: 200 }, { code: '200' }], 'code="200"'],
    ['keys that sanitize alike', [{ 'a.b': 'x' }, { a_b: 'x' }], 'a_b="x"'],
    ['an empty value and no value', [{ k: 'v', e: '' }, { k: 'v' }], 'k="v"'],
    ['a lone surrogate and U+FFFD', [{ s: 'a\ud800' }, { s: 'a\ufffd' }], 's="a\ufffd"'],
  ])('writes one series for attribute sets that render alike: %s', async (_, sets, labels) => {
    for (const order of [sets, [...sets].reverse()]) {
      const { provider, collect } = testProvider();
      const counter = provider.getMeter('mon-test').createCounter('alike');
      counter.add(1, { first: 'x' });
      counter.add(1, order[0]);
      counter.add(2, order[1]);
      const drops: string[] = [];
      const text = serialize(await collect(), { ...noTarget, onDrop: (name, reason) => drops.push(`${name}: ${reason}`) });
      expect(text).toBe(
        `# HELP alike_total alike\n# TYPE alike_total counter\nalike_total{first="x"} 1\nalike_total{${labels}} 1\n`,
      );
      expect(drops).toEqual([`alike_total: duplicate series {${labels}}`]);
    }
  });

  it('keeps series of several scopes apart with withScopeLabels', async () => {
    const { provider, collect } = testProvider();
    provider.getMeter('lib-a', '1.0.0').createCounter('jobs').add(1, { queue: 'a' });
    provider.getMeter('lib-c').createCounter('jobs').add(3, { queue: 'a', otel_scope_name: 'spoofed' });
    const text = serialize(await collect(), { ...noTarget, withScopeLabels: true });
    expect(text).toContain('jobs_total{queue="a",otel_scope_name="lib-a",otel_scope_version="1.0.0"} 1\n');
    expect(text).toContain('jobs_total{queue="a",otel_scope_name="lib-c"} 3\n');
    expect(text).not.toContain('spoofed');
  });

  it('adds no scope labels by default', async () => {
    const { provider, collect } = testProvider();
    provider.getMeter('lib-a', '1.0.0').createCounter('jobs').add(1);
    expect(serialize(await collect(), noTarget)).not.toContain('otel_scope');
  });

  it('keeps the first of two metrics whose types conflict, and reports the other', async () => {
    const { provider, collect } = testProvider();
    provider.getMeter('a').createCounter('foo').add(1);
    provider.getMeter('b').createUpDownCounter('foo.total').add(5);
    const drops: string[] = [];
    const text = serialize(await collect(), { ...noTarget, onDrop: (name) => drops.push(name) });
    expect(text).toBe('# HELP foo_total foo\n# TYPE foo_total counter\nfoo_total 1\n');
    expect(drops).toEqual(['foo_total']);
  });

  it('drops a metric whose series would clash with another family', async () => {
    const { provider, collect } = testProvider();
    const meter = provider.getMeter('a');
    meter.createHistogram('latency', { advice: { explicitBucketBoundaries: [1] } }).record(0.5);
    meter.createGauge('latency.count').record(7);
    meter.createGauge('target.info').record(1);
    const drops: string[] = [];
    const text = serialize(await collect(), { onDrop: (name) => drops.push(name) });
    expect(text).not.toContain('latency_count 7');
    expect(text).toContain('latency_count 1\n');
    expect(drops).toEqual(['latency_count', 'target_info']);
  });

  it('skips exponential histograms and reports them', async () => {
    const { provider, collect } = testProvider({
      views: [{ instrumentName: 'exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    provider.getMeter('a').createHistogram('exp').record(1);
    const drops: string[] = [];
    const text = serialize(await collect(), { ...noTarget, onDrop: (name, reason) => drops.push(`${name}: ${reason}`) });
    expect(text).toBe('');
    expect(drops).toEqual([
      'exp: exponential histograms have no text exposition (Prometheus reads them as native histograms, over protobuf); use explicit buckets',
    ]);
  });

  it('leaves out an `le` attribute of a histogram, which would clash with the bucket label', async () => {
    const { provider, collect } = testProvider();
    provider
      .getMeter('a')
      .createHistogram('sizes', { advice: { explicitBucketBoundaries: [10] } })
      .record(5, { le: 'oops', kind: 'x' });
    const text = serialize(await collect(), noTarget);
    expect(text).toContain('sizes_bucket{kind="x",le="10.0"} 1\n');
    expect(text).not.toContain('oops');
  });

  it('writes no _sum and _count for a histogram without a sum', async () => {
    const { provider, collect } = testProvider({
      views: [{ instrumentName: 'level', aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0] } } }],
    });
    provider.getMeter('a').createUpDownCounter('level').add(-3);
    const text = serialize(await collect(), noTarget);
    expect(text).toBe('# HELP level level\n# TYPE level histogram\nlevel_bucket{le="0.0"} 1\nlevel_bucket{le="+Inf"} 1\n');
  });

  it('omits target_info when asked to, or when the resource has no attributes', async () => {
    const withResource = await testProvider().collect();
    expect(serialize(withResource)).toContain('target_info{service_name="test-service"} 1\n');
    expect(serialize(withResource, noTarget)).toBe('');
    expect(serialize(await testProvider({ resource: {} }).collect())).toBe('');
  });

  it('writes UNIT in OpenMetrics only when the name ends with the unit, `ratio` for unit 1', async () => {
    const { provider, collect } = testProvider();
    const meter = provider.getMeter('a');
    meter.createGauge('net.io', { unit: 'By/s' }).record(1);
    meter.createGauge('seconds.left', { unit: 's' }).record(1);
    meter.createGauge('load', { unit: '1' }).record(1);
    const om = serialize(await collect(), { ...noTarget, format: 'openmetrics' });
    expect(om).toContain('# UNIT net_io_bytes_per_second bytes_per_second\n');
    expect(om).not.toContain('# UNIT seconds_left');
    expect(om).toContain('# TYPE load_ratio gauge\n# UNIT load_ratio ratio\n');
    // A counter of unit 1 gets no _ratio suffix, so no unit either.
  });

  it('renders 10 000 series quickly', async () => {
    const { provider, collect } = testProvider({
      views: [{ instrumentName: 'http.server.requests', aggregationCardinalityLimit: 20_000 }],
    });
    const meter = provider.getMeter('a');
    const counter = meter.createCounter('http.server.requests', { unit: '{request}' });
    for (let i = 0; i < 10_000; i++) {
      counter.add(i, { 'http.request.method': 'GET', 'http.route': `/route/${i}`, 'http.response.status_code': 200 });
    }
    const rm = await collect();
    serialize(rm); // warm-up
    const start = performance.now();
    const text = serialize(rm);
    const ms = performance.now() - start;
    // target_info (3 lines), HELP and TYPE, the series, and the empty string after the last newline.
    expect(text.split('\n').length).toBe(3 + 2 + 10_000 + 1);
    // Generous bound for a loaded CI machine; the measured figure is ~10x lower (see report).
    expect(ms).toBeLessThan(300);
  });
});

describe('serializeChunks', () => {
  // 3000 counter series and 3000 histograms of 4 buckets: about 1 MB of text, in one family each.
  async function large() {
    const { provider, collect } = testProvider({ views: [{ instrumentName: '*', aggregationCardinalityLimit: 10_000 }] });
    const meter = provider.getMeter('mon-test');
    const counter = meter.createCounter('jobs', { description: 'Jobs.' });
    const histogram = meter.createHistogram('job.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1, 10] } });
    for (let i = 0; i < 3000; i++) {
      counter.add(i, { queue: `queue-${i}`, kind: i % 2 ? 'odd' : 'even' });
      histogram.record(i / 100, { queue: `queue-${i}` });
    }
    return collect();
  }

  it('cuts the exposition into pieces of at least CHUNK_LENGTH that join into serialize()', async () => {
    const rm = await large();
    for (const format of ['text', 'openmetrics'] as const) {
      const chunks = [...serializeChunks(rm, { format })];
      expect(chunks.length).toBeGreaterThan(10);
      for (const chunk of chunks.slice(0, -1)) {
        expect(chunk.length).toBeGreaterThanOrEqual(CHUNK_LENGTH);
        // A piece ends where a series does: never inside a line.
        expect(chunk.endsWith('\n')).toBe(true);
        expect(chunk.length).toBeLessThan(CHUNK_LENGTH + 2_000);
      }
      expect(chunks.join('')).toBe(serialize(rm, { format }));
    }
  });

  it('renders lazily: a piece is rendered only when it is asked for', async () => {
    const rm = await large();
    const chunks = serializeChunks(rm);
    const first = chunks.next().value!;
    const counters = rm.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'jobs')!;
    const last = counters.dataPoints.at(-1)!;
    expect(first).not.toContain(`queue="${last.attributes.queue}"`);
    // Changed after the first piece was taken: a render of everything up front would not see it.
    (last as { value: number }).value = 123_456_789;
    expect([first, ...chunks].join('')).toContain(` 123456789\n`);
  });

  it('yields one empty piece for an empty exposition', async () => {
    const { collect } = testProvider();
    expect([...serializeChunks(await collect(), noTarget)]).toEqual(['']);
  });

  it('leaves out a twin met after earlier pieces went out, as a full render would', async () => {
    // The lossy label set comes last, long after the first pieces were handed over: the series
    // it renders like (queue-0, the first) is already written, so the twin is the one left out.
    const { provider, collect } = testProvider({ views: [{ instrumentName: '*', aggregationCardinalityLimit: 10_000 }] });
    const counter = provider.getMeter('mon-test').createCounter('jobs');
    for (let i = 0; i < 3000; i++) counter.add(1, { queue: `queue-${i}` });
    counter.add(5, { queue: 'queue-0', empty: '' });
    const drops: string[] = [];
    const chunks = [...serializeChunks(await collect(), { ...noTarget, onDrop: (name, reason) => drops.push(`${name}: ${reason}`) })];
    expect(chunks.length).toBeGreaterThan(1);
    const text = chunks.join('');
    expect(text.match(/^jobs_total\{queue="queue-0"\} .*$/gm)).toEqual(['jobs_total{queue="queue-0"} 1']);
    expect(text.split('\n').filter((line) => line.startsWith('jobs_total{'))).toHaveLength(3000);
    expect(drops).toEqual(['jobs_total: duplicate series {queue="queue-0"}']);
  });
});

describe('canonicalFloat', () => {
  // Expected values are what Go's strconv.FormatFloat(v, 'g', -1, 64) plus ".0" gives (client_golang's
  // OpenMetrics writer) and Python's prometheus_client floatToGoString.
  it.each([
    [1, '1.0'],
    [10, '10.0'],
    [0, '0.0'],
    [0.005, '0.005'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [2.5e-7, '2.5e-07'],
    [100000, '100000.0'],
    [1e6, '1e+06'],
    [1234567, '1.234567e+06'],
    [1e21, '1e+21'],
    [-2.5, '-2.5'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%d -> %s', (value, text) => {
    expect(canonicalFloat(value)).toBe(text);
  });
});
