// The real Prometheus tooling judges our output: `promtool check metrics` parses and lints text
// 0.0.4, and `promtool tsdb create-blocks-from openmetrics` runs Prometheus' OpenMetrics parser.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregationType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { serialize } from '../src/serialize.js';
import { testProvider } from './provider.js';

const required = process.env.MON_REQUIRE_PROMETHEUS === '1';
const available = spawnSync('promtool', ['--version']).status === 0;
if (!available) {
  if (required) throw new Error('promtool is not on PATH and MON_REQUIRE_PROMETHEUS=1');
  console.warn('promtool is not on PATH: skipping the promtool checks (set MON_REQUIRE_PROMETHEUS=1 to fail instead)');
}

const HOSTILE = [
  'back\\slash',
  'double "quotes"',
  'new\nline',
  'carriage\rreturn',
  'tab\there',
  '{braces}=,commas',
  '# not a comment',
  'żółć 日本語 😀',
  'lone \ud800 surrogate',
  '\\n literal backslash-n',
  'x'.repeat(2_000),
];

async function everyKind(): Promise<ResourceMetrics> {
  const { provider, collect } = testProvider({
    resource: { 'service.name': 'promtool "check"', 'service.version': '1.0.0\n', 'host.name': 'h\\1' },
    views: [{ instrumentName: 'exp.hist', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('promtool-test', '1.0.0');
  const other = provider.getMeter('other-scope');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests "served"\nback\\slash.' });
  const duration = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration.',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.1, 1, 10] },
  });
  HOSTILE.forEach((value, i) => {
    requests.add(i + 1, { 'http.route': value, 'http.request.method': 'GET' });
    duration.record(i / 10, { 'http.route': value });
  });
  requests.add(1, { 'weird-key.with/chars': 'x', '1st.key': 'y', _private: 'z', 'a.b': 'p', a_b: 'q' });
  other.createCounter('http.server.requests', { unit: '{request}' }).add(5, { 'http.route': '/other' });
  meter.createUpDownCounter('http.server.active_requests', { unit: '{request}' }).add(3);
  meter.createGauge('system.memory.usage', { unit: 'By' }).record(1024, { 'system.memory.state': 'used' });
  meter.createObservableGauge('system.cpu.utilization', { unit: '1' }).addCallback((r) => {
    r.observe(0.5, { 'cpu.mode': 'user' });
    r.observe(Number.NaN, { 'cpu.mode': 'nan' });
    r.observe(Infinity, { 'cpu.mode': 'inf' });
    r.observe(-Infinity, { 'cpu.mode': 'ninf' });
  });
  meter.createObservableCounter('process.cpu.time', { unit: 's' }).addCallback((r) => r.observe(12.5));
  meter.createObservableUpDownCounter('system.network.io.rate', { unit: 'By/s' }).addCallback((r) => r.observe(100));
  meter.createGauge('hostile.help', { description: 'A "quote", a back\\slash,\na newline and żółć.' }).record(1);
  meter.createHistogram('exp.hist').record(1);
  // Clashes and conflicts that must be left out, not written twice.
  meter.createGauge('http.server.requests.total').record(1);
  meter.createGauge('http.server.request.duration.seconds.count').record(1);
  return collect();
}

function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

// promtool does not notice a series written twice; Prometheus would drop the second sample.
function expectUniqueSeries(exposition: string): void {
  const series = exposition
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.lastIndexOf(' ')));
  expect(new Set(series).size).toBe(series.length);
}

describe.skipIf(!available)('promtool', () => {
  it('checks the text exposition of every kind, hostile labels included, with no problems', async () => {
    const text = serialize(await everyKind(), { format: 'text' });
    const { status, output } = promtool(['check', 'metrics'], text);
    expect(output).toBe('');
    expect(status).toBe(0);
    expectUniqueSeries(text);
  });

  it('checks the text exposition with scope labels', async () => {
    const text = serialize(await everyKind(), { format: 'text', withScopeLabels: true });
    const { status, output } = promtool(['check', 'metrics'], text);
    expect(output).toBe('');
    expect(status).toBe(0);
    expectUniqueSeries(text);
  });

  it('parses the OpenMetrics exposition with Prometheus’ OpenMetrics parser', async () => {
    const om = serialize(await everyKind(), { format: 'openmetrics' });
    expectUniqueSeries(om);
    // Backfilling needs a timestamp on every sample; the rest of each line is ours, unchanged.
    const stamped = om.replace(/^([^#\n].*)$/gm, '$1 1700000000');
    const dir = mkdtempSync(join(tmpdir(), 'mon-promtool-'));
    try {
      writeFileSync(join(dir, 'metrics.om'), stamped);
      const { status, output } = promtool([
        'tsdb',
        'create-blocks-from',
        'openmetrics',
        '--quiet',
        join(dir, 'metrics.om'),
        join(dir, 'blocks'),
      ]);
      expect(output).toBe('');
      expect(status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
