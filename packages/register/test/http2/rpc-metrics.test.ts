import { serialize } from '@mon/prometheus';
import { AggregationTemporality, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { HttpClientMetrics } from '../../src/http-client-metrics.js';
import { RpcMetrics } from '../../src/http2/rpc-metrics.js';
import { STATUS_NAMES } from '../../src/http2/grpc-status.js';

const code = (name: string): number => STATUS_NAMES.indexOf(name);

async function points(rpc: RpcMetrics, temporality?: AggregationTemporality): Promise<HistogramMetricData['dataPoints']> {
  const { resourceMetrics } = await rpc.producer(temporality).collect();
  const metric = resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData | undefined;
  return metric?.dataPoints ?? [];
}

describe('RpcMetrics', () => {
  it('names rpc.server.call.duration series by method and status, error.type on server faults only', async () => {
    const rpc = new RpcMetrics('server', { maxMethods: 10 });
    const say = rpc.methodOf('/pkg.Echo/Say', 0);
    rpc.record(undefined, say, code('OK'), 1500);
    rpc.record(undefined, say, code('OK'), 2500);
    rpc.record(undefined, say, code('NOT_FOUND'), 100);
    rpc.record(undefined, say, code('INTERNAL'), 100);
    const { resourceMetrics } = await rpc.producer().collect();
    const metric = resourceMetrics.scopeMetrics[0]!.metrics[0]!;
    expect(metric.descriptor).toMatchObject({ name: 'rpc.server.call.duration', unit: 's' });
    const got = (await points(rpc)).map((p) => [p.attributes, p.value.count, p.value.sum]);
    expect(got).toEqual([
      [{ 'rpc.system.name': 'grpc', 'rpc.method': 'pkg.Echo/Say', 'rpc.response.status_code': 'OK' }, 2, 0.004],
      [{ 'rpc.system.name': 'grpc', 'rpc.method': 'pkg.Echo/Say', 'rpc.response.status_code': 'NOT_FOUND' }, 1, 0.0001],
      [{ 'rpc.system.name': 'grpc', 'rpc.method': 'pkg.Echo/Say', 'rpc.response.status_code': 'INTERNAL', 'error.type': 'INTERNAL' }, 1, 0.0001],
    ]);
  });

  it('bounds rpc.method: a cap then _OTHER (warned once), malformed paths and UNIMPLEMENTED calls never mint one', () => {
    let warned = 0;
    const rpc = new RpcMetrics('server', { maxMethods: 2, onTooManyMethods: () => warned++ });
    expect(rpc.knownMethod('/a.S/M')).toBe(-1);
    const first = rpc.methodOf('/a.S/M', code('OK'));
    expect(rpc.knownMethod('/a.S/M')).toBe(first);
    expect(rpc.methodOf('/scan.Me/Now', code('UNIMPLEMENTED'))).toBe(0);
    expect(rpc.knownMethod('/scan.Me/Now')).toBe(-1);
    for (const odd of ['/', '/a.S', '/a.S/M/x', 'a.S/M', '/a.S/M?x=1', `/${'x'.repeat(200)}/M`, undefined]) expect(rpc.methodOf(odd, 0)).toBe(0);
    rpc.methodOf('/a.S/N', 0);
    expect(rpc.methodOf('/a.S/O', 0)).toBe(0);
    expect(rpc.methodOf('/a.S/P', 0)).toBe(0);
    expect(warned).toBe(1);
    expect(rpc.methodSpan).toBe(3);
  });

  it("takes the client's target for server.address and server.port, and counts every non-OK code as an error", async () => {
    const http = new HttpClientMetrics();
    const target = http.targetOfOrigin('http://10.0.0.7:50051');
    const rpc = new RpcMetrics('client', { maxMethods: 10 });
    rpc.record(target, rpc.methodOf('/pkg.Echo/Find', 5), code('NOT_FOUND'), 10);
    expect((await points(rpc)).map((p) => p.attributes)).toEqual([
      {
        'rpc.system.name': 'grpc',
        'rpc.method': 'pkg.Echo/Find',
        'rpc.response.status_code': 'NOT_FOUND',
        'server.address': '10.0.0.7',
        'server.port': 50051,
        'error.type': 'NOT_FOUND',
      },
    ]);
  });

  it('sends a delta reader only what is new, and puts series past the limit under otel.metric.overflow', async () => {
    let overflowed = 0;
    const rpc = new RpcMetrics('server', { maxMethods: 10, maxSeries: 2, onOverflow: () => overflowed++ });
    const producer = rpc.producer(AggregationTemporality.DELTA);
    const collect = async () => {
      const { resourceMetrics } = await producer.collect();
      return ((resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData | undefined)?.dataPoints ?? []).map((p) => [p.attributes['rpc.response.status_code'] ?? 'overflow', p.value.count]);
    };
    const m = rpc.methodOf('/p.S/M', 0);
    rpc.record(undefined, m, 0, 1);
    rpc.record(undefined, m, 0, 1);
    expect(await collect()).toEqual([['OK', 2]]);
    expect(await collect()).toEqual([]);
    rpc.record(undefined, m, 5, 1);
    rpc.record(undefined, m, 13, 1);
    rpc.record(undefined, m, 14, 1);
    expect(await collect()).toEqual([['NOT_FOUND', 1], ['overflow', 2]]);
    expect(overflowed).toBe(1);
  });
});

describe('RpcMetrics in a cluster', () => {
  it("adds up over workers by kind, as the HTTP histograms do (cluster/merge-rule.ts), a retired worker's calls kept", async () => {
    const { ClusterMerge } = await import('../../src/cluster/merge.js');
    const { mergeRule } = await import('../../src/cluster/merge-rule.js');
    const worker = (calls: number) => {
      const rpc = new RpcMetrics('server', { maxMethods: 10 });
      const say = rpc.methodOf('/p.Echo/Say', 0);
      for (let i = 0; i < calls; i++) rpc.record(undefined, say, 0, 1000);
      return rpc.producer().collect().then((r) => r.resourceMetrics.scopeMetrics);
    };
    const [one, two, gone] = await Promise.all([worker(2), worker(3), worker(4)]);
    expect(mergeRule(one[0]!.scope, one[0]!.metrics[0]!)).toBe('total');
    const merge = new ClusterMerge();
    merge.retire(gone);
    const merged = merge.merge(
      [
        { label: '1', scopes: one },
        { label: '2', scopes: two },
      ],
      [0, 0],
    );
    const metric = merged[0]!.metrics.find((m) => m.descriptor.name === 'rpc.server.call.duration') as HistogramMetricData;
    expect(metric.dataPoints).toHaveLength(1);
    expect(metric.dataPoints[0]!.attributes).toEqual({ 'rpc.system.name': 'grpc', 'rpc.method': 'p.Echo/Say', 'rpc.response.status_code': 'OK' });
    expect(metric.dataPoints[0]!.value.count).toBe(9);
    expect(metric.dataPoints[0]!.value.sum).toBeCloseTo(0.009);
  });
});

describe('RpcMetrics at its caps', () => {
  it('at their caps, the two rpc histograms add at most 32.5 MB to /metrics (docs/security.md)', async () => {
    // Methods of the longest kept name (128 characters: `/` + 127 + ... as the path rule allows),
    // MON_MAX_ROUTES (500) of them; statuses longest first, each with its error type where it has one.
    const method = (i: number): string => `/p${'x'.repeat(120)}.S/M${String(i).padStart(3, '0')}`;
    const byLength = STATUS_NAMES.map((_, i) => i).sort((a, b) => STATUS_NAMES[b]!.length - STATUS_NAMES[a]!.length);
    const server = new RpcMetrics('server', { maxMethods: 500 });
    const client = new RpcMetrics('client', { maxMethods: 500 });
    // 100 targets (MON_MAX_CLIENT_HOSTS) of 128-character names, the longest port.
    const http = new HttpClientMetrics();
    const targets = Array.from({ length: 100 }, (_, h) => http.targetOfOrigin(`http://${'h'.repeat(124)}${String(h).padStart(4, '0')}:65535`));
    for (let i = 0; i < 500; i++) {
      for (const status of byLength.slice(0, 5)) {
        server.record(undefined, server.methodOf(method(i), code('OK')), status, 1);
        client.record(targets[i % 100], client.methodOf(method(i), code('OK')), status, 1);
      }
    }
    let total = 0;
    for (const side of [server, client]) {
      const { resourceMetrics } = await side.producer().collect();
      // 2000 series, then the overflow one.
      expect(resourceMetrics.scopeMetrics.reduce((n, scope) => n + scope.metrics[0]!.dataPoints.length, 0)).toBe(2001);
      const sizes = (['text', 'openmetrics'] as const).map((format) =>
        Buffer.byteLength(serialize({ resource: { attributes: {} } as never, scopeMetrics: resourceMetrics.scopeMetrics }, { format })),
      );
      total += Math.max(...sizes);
    }
    // Measured: 11.8 MB served, 20.3 MB called (the peer's address on every series, and an error
    // type on every status but OK), in text and OpenMetrics alike.
    expect(total).toBeGreaterThan(31e6);
    expect(total).toBeLessThan(32.5e6);
  });
});
