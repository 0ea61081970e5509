import { AggregationTemporality, DataPointType, type ExponentialHistogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import {
  DURATION_BOUNDARIES,
  HttpServerMetrics,
  KNOWN_METHODS,
  methodIndex,
  slotOf,
} from '../src/http-server-metrics.js';

async function collect(producer: ReturnType<HttpServerMetrics['producer']>): Promise<Record<string, MetricData>> {
  const { resourceMetrics } = await producer.collect();
  return Object.fromEntries(resourceMetrics.scopeMetrics[0]!.metrics.map((m) => [m.descriptor.name, m]));
}

function request(metrics: HttpServerMetrics, method: string, status: number, seconds: number, aborted = false): void {
  const slot = slotOf(methodIndex(method), false);
  metrics.requestStarted(slot);
  metrics.requestEnded(slot, status, aborted, undefined, Math.round(seconds * 1e6));
}

describe('methodIndex', () => {
  it('maps the known methods to themselves and everything else to _OTHER', () => {
    for (const [i, m] of KNOWN_METHODS.entries()) expect(methodIndex(m)).toBe(i);
    const other = KNOWN_METHODS.length;
    for (const m of ['get', 'PROPFIND', 'X'.repeat(10_000), '', undefined]) expect(methodIndex(m)).toBe(other);
  });
});

describe('HttpServerMetrics', () => {
  it('counts per method and status, with error.type on 5xx, and a histogram per series', async () => {
    const metrics = new HttpServerMetrics();
    request(metrics, 'GET', 200, 0.002);
    request(metrics, 'GET', 200, 0.2);
    request(metrics, 'POST', 500, 0.00005);
    request(metrics, 'BREW', 404, 20);
    const byName = await collect(metrics.producer());
    const requests = byName['http.server.requests']!;
    expect(requests.dataPointType).toBe(DataPointType.SUM);
    expect(requests.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200 }, 2],
      [{ 'http.request.method': 'POST', 'url.scheme': 'http', 'http.response.status_code': 500, 'error.type': '500' }, 1],
      [{ 'http.request.method': '_OTHER', 'url.scheme': 'http', 'http.response.status_code': 404 }, 1],
    ]);
    const durations = byName['http.server.request.duration']!;
    expect(durations.descriptor.unit).toBe('s');
    const get = durations.dataPoints[0]!.value as { buckets: { boundaries: number[]; counts: number[] }; count: number; sum: number; min: number; max: number };
    expect(get.count).toBe(2);
    expect(get.sum).toBeCloseTo(0.202);
    expect([get.min, get.max]).toEqual([0.002, 0.2]);
    expect(get.buckets.boundaries).toEqual(DURATION_BOUNDARIES);
    // 0.002 lands in (0.001, 0.0025]; 0.2 in (0.1, 0.25].
    expect(get.buckets.counts[DURATION_BOUNDARIES.indexOf(0.0025)]).toBe(1);
    expect(get.buckets.counts[DURATION_BOUNDARIES.indexOf(0.25)]).toBe(1);
    expect(get.buckets.counts.reduce((a, b) => a + b)).toBe(2);
    // Below the first boundary and above the last: the first and the +Inf bucket.
    const post = durations.dataPoints[1]!.value as { buckets: { counts: number[] } };
    expect(post.buckets.counts[0]).toBe(1);
    const other = durations.dataPoints[2]!.value as { buckets: { counts: number[] } };
    expect(other.buckets.counts[DURATION_BOUNDARIES.length]).toBe(1);
  });

  it('puts a boundary value in the bucket it bounds (le is inclusive)', async () => {
    const metrics = new HttpServerMetrics();
    request(metrics, 'GET', 200, 0.005);
    const point = (await collect(metrics.producer()))['http.server.request.duration']!.dataPoints[0]!;
    expect((point.value as { buckets: { counts: number[] } }).buckets.counts[DURATION_BOUNDARIES.indexOf(0.005)]).toBe(1);
  });

  it('marks an aborted request with error.type and no status when no header was sent', async () => {
    const metrics = new HttpServerMetrics();
    request(metrics, 'GET', 0, 0.05, true);
    request(metrics, 'GET', 200, 0.05, true);
    const points = (await collect(metrics.producer()))['http.server.requests']!.dataPoints;
    expect(points.map((p) => p.attributes)).toEqual([
      { 'http.request.method': 'GET', 'url.scheme': 'http', 'error.type': 'aborted' },
      { 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200, 'error.type': 'aborted' },
    ]);
  });

  it('tracks active requests per method and scheme, and returns them to zero', async () => {
    const metrics = new HttpServerMetrics();
    const get = slotOf(methodIndex('GET'), true);
    metrics.requestStarted(get);
    metrics.requestStarted(get);
    let active = (await collect(metrics.producer()))['http.server.active_requests']!;
    expect(active.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'http.request.method': 'GET', 'url.scheme': 'https' }, 2],
    ]);
    metrics.requestEnded(get, 200, false, undefined, 10_000);
    metrics.requestEnded(get, 0, true, undefined, 10_000);
    active = (await collect(metrics.producer()))['http.server.active_requests']!;
    expect(active.dataPoints.map((p) => p.value)).toEqual([0]);
  });

  it('keeps routes apart', async () => {
    const metrics = new HttpServerMetrics();
    const slot = slotOf(0, false);
    metrics.requestStarted(slot);
    metrics.requestEnded(slot, 200, false, '/users/:id', 10_000);
    metrics.requestStarted(slot);
    metrics.requestEnded(slot, 200, false, '/orders/:id', 10_000);
    const points = (await collect(metrics.producer()))['http.server.requests']!.dataPoints;
    expect(points.map((p) => p.attributes['http.route'])).toEqual(['/users/:id', '/orders/:id']);
  });

  it('puts each request in its own series when the one before differs only in route, status or outcome', async () => {
    // The last series is reused for an identical request: a change of any one part must not reuse it.
    const metrics = new HttpServerMetrics();
    const slot = slotOf(0, false);
    const ends: Array<[number, boolean, string | undefined]> = [
      [200, false, '/a'],
      [200, false, '/a'],
      [200, false, undefined],
      [200, false, '/a'],
      [200, false, '/b'],
      [404, false, '/b'],
      [0, true, '/b'],
      [200, false, undefined],
      [200, false, undefined],
    ];
    for (const [status, aborted, route] of ends) {
      metrics.requestStarted(slot);
      metrics.requestEnded(slot, status, aborted, route, 1_000);
    }
    const points = (await collect(metrics.producer()))['http.server.requests']!.dataPoints;
    const counts = points.map((p) => [p.attributes['http.route'], p.attributes['http.response.status_code'], p.attributes['error.type'], p.value]);
    expect(counts).toEqual([
      [undefined, 200, undefined, 3],
      ['/a', 200, undefined, 3],
      ['/b', 200, undefined, 1],
      ['/b', 404, undefined, 1],
      ['/b', undefined, 'aborted', 1],
    ]);
  });

  it('gives a delta reader only what is new since its last collection', async () => {
    const metrics = new HttpServerMetrics();
    const delta = metrics.producer(AggregationTemporality.DELTA);
    const cumulative = metrics.producer();
    request(metrics, 'GET', 200, 0.01);
    request(metrics, 'GET', 200, 0.01);
    let byName = await collect(delta);
    expect(byName['http.server.requests']!.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(byName['http.server.requests']!.dataPoints.map((p) => p.value)).toEqual([2]);
    request(metrics, 'GET', 200, 0.01);
    byName = await collect(delta);
    expect(byName['http.server.requests']!.dataPoints.map((p) => p.value)).toEqual([1]);
    const histogram = byName['http.server.request.duration']!.dataPoints[0]!.value as { count: number; buckets: { counts: number[] }; min?: number };
    expect(histogram.count).toBe(1);
    expect(histogram.buckets.counts.reduce((a, b) => a + b)).toBe(1);
    expect(histogram.min).toBeUndefined();
    // Nothing new: no metric at all rather than zeros.
    expect((await collect(delta))['http.server.requests']).toBeUndefined();
    // The cumulative reader is unaffected by the delta reader's bookkeeping.
    expect((await collect(cumulative))['http.server.requests']!.dataPoints.map((p) => p.value)).toEqual([3]);
  });

  it('gives each histogram point its exponential buckets too, for native histograms', async () => {
    const metrics = new HttpServerMetrics();
    for (const seconds of [0.051, 0.051, 0.0512, 0.06]) request(metrics, 'GET', 200, seconds);
    const point = (await collect(metrics.producer()))['http.server.request.duration']!.dataPoints[0]!;
    const { exponential } = point.value as unknown as { exponential: ExponentialHistogram };
    expect(exponential.count).toBe(4);
    expect(exponential.sum).toBeCloseTo(0.2132);
    // 0.051 .. 0.06 s fits in 160 buckets at the finest scale.
    expect(exponential.scale).toBe(8);
    const counts = exponential.positive.bucketCounts;
    expect(counts.reduce((a, b) => a + b)).toBe(4);
    // 0.051 s is in OpenTelemetry bucket ceil(log2(0.051) * 256) - 1, the first one in use.
    expect(exponential.positive.offset).toBe(Math.ceil(Math.log2(0.051) * 256) - 1);
    expect(counts[0]).toBe(2);
  });

  it('gives exponential histograms only when a reader asks for them (OTLP base2_exponential_bucket_histogram)', async () => {
    const metrics = new HttpServerMetrics();
    const delta = metrics.producer(AggregationTemporality.DELTA, 'exponential');
    request(metrics, 'GET', 200, 0.01);
    let durations = (await collect(delta))['http.server.request.duration']!;
    expect(durations.dataPointType).toBe(DataPointType.EXPONENTIAL_HISTOGRAM);
    // A wide range lowers the scale between two exports: the delta is still exact.
    request(metrics, 'GET', 200, 0.000002);
    request(metrics, 'GET', 200, 100);
    durations = (await collect(delta))['http.server.request.duration']!;
    const value = durations.dataPoints[0]!.value as ExponentialHistogram;
    expect(value.count).toBe(2);
    expect(value.scale).toBeLessThan(8);
    expect(value.positive.bucketCounts.reduce((a, b) => a + b)).toBe(2);
    expect(value.positive.bucketCounts.every((c) => c >= 0)).toBe(true);
  });
});

describe('HttpServerMetrics series limit', () => {
  it('counts combinations past the limit in one overflow series, and says so once', async () => {
    let overflows = 0;
    const metrics = new HttpServerMetrics(2, () => overflows++);
    for (const status of [200, 201, 202, 203, 200]) request(metrics, 'GET', status, 0.01);
    const points = (await collect(metrics.producer()))['http.server.requests']!.dataPoints;
    expect(points.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200 }, 2],
      [{ 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 201 }, 1],
      [{ 'otel.metric.overflow': true }, 2],
    ]);
    expect(overflows).toBe(1);
  });
});
