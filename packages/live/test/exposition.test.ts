import { describe, expect, it } from 'vitest';
import { parseExposition, seriesKey } from '../src/client/exposition.js';

describe('parseExposition', () => {
  it('reads names, labels and values, skipping comments', () => {
    const samples = parseExposition(
      [
        '# HELP http_server_requests_total Number of requests.',
        '# TYPE http_server_requests_total counter',
        'http_server_requests_total{http_request_method="GET",http_response_status_code="200"} 6',
        'http_server_requests_total{http_request_method="GET",http_response_status_code="500",error_type="500"} 3',
        'process_memory_usage_bytes 61935616',
        '',
      ].join('\n'),
    );
    expect([...samples.keys()]).toEqual(['http_server_requests_total', 'process_memory_usage_bytes']);
    expect(samples.get('http_server_requests_total')).toEqual([
      { labels: { http_request_method: 'GET', http_response_status_code: '200' }, value: 6 },
      { labels: { http_request_method: 'GET', http_response_status_code: '500', error_type: '500' }, value: 3 },
    ]);
    expect(samples.get('process_memory_usage_bytes')).toEqual([{ labels: {}, value: 61935616 }]);
  });

  it('unescapes label values and keeps commas, braces and spaces inside them', () => {
    const samples = parseExposition('x{a="quote \\" here",b="new\\nline",c="back\\\\slash",d="a, b} c"} 1\n');
    expect(samples.get('x')![0]!.labels).toEqual({ a: 'quote " here', b: 'new\nline', c: 'back\\slash', d: 'a, b} c' });
  });

  it('reads special values, exponents, timestamps and OpenMetrics text', () => {
    const samples = parseExposition(
      'a{le="+Inf"} +Inf\nb -Inf\nc NaN\nd 1.5e-3 1700000000000\ne{x="1",} 2\n# EOF\n',
    );
    expect(samples.get('a')![0]!.value).toBe(Infinity);
    expect(samples.get('b')![0]!.value).toBe(-Infinity);
    expect(samples.get('c')![0]!.value).toBeNaN();
    expect(samples.get('d')![0]!.value).toBe(0.0015);
    expect(samples.get('e')![0]).toEqual({ labels: { x: '1' }, value: 2 });
  });

  it('skips malformed lines and keeps the rest', () => {
    const samples = parseExposition('broken{a="x 1\nnovalue\nbad abc\nok 1\n');
    expect([...samples.keys()]).toEqual(['ok']);
  });

  it('reads only the names and labels asked for, summing the samples the dropped labels told apart', () => {
    const text = [
      'req_total{http_route="/a",http_request_method="GET",code="200"} 3',
      'req_total{http_route="/b",http_request_method="GET",code="200"} 4',
      'req_total{http_route="/a\\"x",http_request_method="POST",code="500"} 1',
      'other_total{code="200"} 9',
      '',
    ].join('\n');
    const samples = parseExposition(text, { names: new Set(['req_total']), labels: new Set(['code']) });
    expect([...samples.keys()]).toEqual(['req_total']);
    expect(samples.get('req_total')).toEqual([
      { labels: { code: '200' }, value: 7 },
      { labels: { code: '500' }, value: 1 },
    ]);
  });

  it('gives label sets a key independent of label order', () => {
    expect(seriesKey({ a: '1', b: '2' })).toBe(seriesKey({ b: '2', a: '1' }));
    expect(seriesKey({ a: '1' })).not.toBe(seriesKey({ a: '2' }));
  });
});
