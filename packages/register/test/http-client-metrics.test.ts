import { AggregationTemporality, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { afterHost, errorTypeName, HttpClientMetrics, MAX_ERROR_TYPES } from '../src/http-client-metrics.js';
import { methodIndex } from '../src/http-server-metrics.js';

async function collect(producer: ReturnType<HttpClientMetrics['producer']>): Promise<Record<string, MetricData>> {
  const { resourceMetrics } = await producer.collect();
  return Object.fromEntries((resourceMetrics.scopeMetrics[0]?.metrics ?? []).map((m) => [m.descriptor.name, m]));
}

describe('afterHost', () => {
  it('finds the host Node wrote into the Host header, with or without a port, IPv6 bracketed', () => {
    expect(afterHost('localhost', 'localhost')).toBe(9);
    expect(afterHost('localhost:8080', 'localhost')).toBe(9);
    expect(afterHost('[::1]:8080', '::1')).toBe(5);
    expect(afterHost('[::1]', '::1')).toBe(5);
  });

  it('says -1 for a header that names another host, even one that starts the same', () => {
    expect(afterHost('example.com', 'localhost')).toBe(-1);
    expect(afterHost('localhost.evil:1', 'localhost')).toBe(-1);
    expect(afterHost('[::12]:80', '::1')).toBe(-1);
  });
});

describe('errorTypeName', () => {
  it('names aborts and timeouts, then codes, then class names; never a message', () => {
    expect(errorTypeName(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(errorTypeName(new DOMException('This operation was aborted', 'AbortError'))).toBe('AbortError');
    expect(errorTypeName(new DOMException('The operation timed out', 'TimeoutError'))).toBe('TimeoutError');
    expect(errorTypeName(Object.assign(new Error('x'), { name: 'AbortError', code: 'ABORT_ERR' }))).toBe('AbortError');
    expect(errorTypeName(new TypeError('fetch failed'))).toBe('TypeError');
    expect(errorTypeName(Object.assign(new Error('x'), { code: 'has spaces in it' }))).toBe('Error');
    expect(errorTypeName(Object.assign(new Error('x'), { code: 42, name: 'Weird Name!' }))).toBe('_OTHER');
    expect(errorTypeName('Response object has been garbage collected')).toBe('_OTHER');
    expect(errorTypeName(undefined)).toBe('_OTHER');
    const hostile = Object.defineProperty(new Error('x'), 'code', {
      get() {
        throw new Error('no');
      },
    });
    expect(errorTypeName(hostile)).toBe('_OTHER');
  });
});

describe('HttpClientMetrics', () => {
  it('keeps one series per (target, method, status, error), error.type on failures and 4xx/5xx', async () => {
    const metrics = new HttpClientMetrics();
    const api = metrics.targetOfOrigin('https://api.example.com');
    const local = metrics.targetOfHost(false, 'localhost', 'localhost:3000');
    const get = methodIndex('GET');
    metrics.callStarted(api, get);
    metrics.callEnded(api, get, 200, 0, 2_000);
    metrics.callStarted(api, get);
    metrics.callEnded(api, get, 404, 0, 1_000);
    metrics.callStarted(local, methodIndex('POST'));
    metrics.callEnded(local, methodIndex('POST'), 0, metrics.errorTypeOf(Object.assign(new Error(), { code: 'ECONNREFUSED' })), 500);
    metrics.callStarted(local, get);
    const byName = await collect(metrics.producer());
    const durations = byName['http.client.request.duration']!;
    expect(durations.dataPoints.map((p) => [p.attributes, (p.value as { count: number }).count])).toEqual([
      [{ 'http.request.method': 'GET', 'server.address': 'api.example.com', 'server.port': 443, 'url.scheme': 'https', 'http.response.status_code': 200 }, 1],
      [{ 'http.request.method': 'GET', 'server.address': 'api.example.com', 'server.port': 443, 'url.scheme': 'https', 'http.response.status_code': 404, 'error.type': '404' }, 1],
      [{ 'http.request.method': 'POST', 'server.address': 'localhost', 'server.port': 3000, 'url.scheme': 'http', 'error.type': 'ECONNREFUSED' }, 1],
    ]);
    const active = byName['http.client.active_requests']!;
    expect(active.dataPoints.map((p) => [p.attributes['http.request.method'], p.attributes['server.address'], p.value])).toEqual([
      ['GET', 'api.example.com', 0],
      ['GET', 'localhost', 1],
      ['POST', 'localhost', 0],
    ]);
  });

  it('resolves the same target from fetch and node:http, and never trusts a Host header naming another host', () => {
    const metrics = new HttpClientMetrics();
    const a = metrics.targetOfOrigin('http://127.0.0.1:8080');
    expect(metrics.targetOfHost(false, '127.0.0.1', '127.0.0.1:8080')).toBe(a);
    // A proxy forwarding its client's Host header: the address is what it connects to.
    const forwarded = metrics.targetOfHost(false, '127.0.0.1', 'shop.example:9999');
    expect(forwarded.attributes).toEqual({ 'server.address': '127.0.0.1', 'server.port': 80, 'url.scheme': 'http' });
    expect(metrics.targetOfOrigin('http://[::1]:9000').attributes['server.address']).toBe('::1');
    expect(metrics.targetOfHost(false, '::1', '[::1]:9000')).toBe(metrics.targetOfOrigin('http://[::1]:9000'));
  });

  it('caps targets: the rest go to one _OTHER per scheme, one callback, and memory stays bounded', () => {
    let warned = 0;
    const metrics = new HttpClientMetrics({ maxHosts: 10, onTooManyHosts: () => warned++ });
    for (let i = 0; i < 10_000; i++) {
      metrics.targetOfOrigin(`http://h${i}.example:8080`);
      metrics.targetOfHost(i % 2 === 0, `n${i}.example`, `n${i}.example:81`);
    }
    expect(warned).toBe(1);
    expect(metrics.size.targets).toBe(10);
    expect(metrics.size.lookupKeys).toBeLessThanOrEqual(3 * 2 * 10);
    const other = metrics.targetOfOrigin('http://yet-another.example');
    expect(other.attributes).toEqual({ 'server.address': '_OTHER', 'url.scheme': 'http' });
    expect(metrics.targetOfHost(true, 'x.example', 'x.example')).not.toBe(other);
  });

  it('caps error types at MAX_ERROR_TYPES, then _OTHER', () => {
    const metrics = new HttpClientMetrics();
    const indexes = new Set<number>();
    for (let i = 0; i < 200; i++) indexes.add(metrics.errorTypeOf(Object.assign(new Error(), { code: `E_CUSTOM_${i}` })));
    expect(metrics.size.errorTypes).toBe(MAX_ERROR_TYPES);
    // MAX_ERROR_TYPES - 1 codes of their own, and every later one shares _OTHER's index.
    expect(indexes.size).toBe(MAX_ERROR_TYPES);
    expect(metrics.errorTypeOf(Object.assign(new Error(), { code: 'E_CUSTOM_199' }))).toBe(metrics.errorTypeOf(undefined));
  });

  it('counts status-derived error types against the same cap; an unregistered status is _OTHER', async () => {
    const metrics = new HttpClientMetrics({ maxSeries: 100_000 });
    for (let i = 0; i < 70; i++) metrics.errorTypeOf(Object.assign(new Error(), { code: `E_CUSTOM_${i}` }));
    const t = metrics.targetOfOrigin('http://a.example');
    for (let status = 400; status < 1000; status++) {
      metrics.callStarted(t, 0);
      metrics.callEnded(t, 0, status, 0, 100);
    }
    const fresh = new HttpClientMetrics({ maxSeries: 100_000 });
    const u = fresh.targetOfOrigin('http://a.example');
    for (const status of [404, 418, 499, 503, 599, 600, 999, 503]) {
      fresh.callStarted(u, 0);
      fresh.callEnded(u, 0, status, 0, 100);
    }
    const errorTypes = async (m: HttpClientMetrics) =>
      new Set((await collect(m.producer()))['http.client.request.duration']!.dataPoints.map((p) => p.attributes['error.type']));
    // The cap was full of codes: every status is _OTHER.
    expect(await errorTypes(metrics)).toEqual(new Set(['_OTHER']));
    expect(metrics.size.errorTypes).toBe(MAX_ERROR_TYPES);
    expect(await errorTypes(fresh)).toEqual(new Set(['404', '503', '_OTHER']));
    expect(fresh.size.errorTypes).toBe(3);
  });

  it('names a host as fetch does: lower case, punycode', () => {
    const metrics = new HttpClientMetrics();
    const viaFetch = metrics.targetOfOrigin(new URL('http://Bücher.Example:8080').origin);
    expect(viaFetch.attributes['server.address']).toBe('xn--bcher-kva.example');
    expect(metrics.targetOfHost(false, 'bücher.example', 'bücher.example:8080')).toBe(viaFetch);
    expect(metrics.targetOfHost(false, 'BÜCHER.example', 'BÜCHER.example:8080')).toBe(viaFetch);
    expect(metrics.targetOfHost(true, 'UPPER.Example', 'UPPER.Example').attributes['server.address']).toBe('upper.example');
    expect(metrics.targetOfHost(false, 'FE80::A', '[FE80::A]:80').attributes['server.address']).toBe('fe80::a');
    expect(metrics.size.targets).toBe(3);
    // Longer than 128 characters: _OTHER, as a route is.
    expect(metrics.targetOfHost(false, `${'a'.repeat(60)}.${'b'.repeat(60)}.example`, 'x').attributes['server.address']).toBe('_OTHER');
    expect(metrics.targetOfHost(false, `${'a'.repeat(60)}.${'b'.repeat(59)}.example`, 'x').attributes['server.address']).toHaveLength(128);
  });

  it('sends only what changed to a delta reader, and no scope at all before the first call', async () => {
    const metrics = new HttpClientMetrics();
    const producer = metrics.producer(AggregationTemporality.DELTA);
    expect((await producer.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    const t = metrics.targetOfOrigin('http://a.example');
    for (let i = 0; i < 3; i++) {
      metrics.callStarted(t, 0);
      metrics.callEnded(t, 0, 200, 0, 100);
    }
    const first = await collect(producer);
    expect((first['http.client.request.duration']!.dataPoints[0]!.value as { count: number }).count).toBe(3);
    metrics.callStarted(t, 0);
    metrics.callEnded(t, 0, 200, 0, 100);
    const second = await collect(producer);
    expect((second['http.client.request.duration']!.dataPoints[0]!.value as { count: number }).count).toBe(1);
  });
});
