import { describe, expect, it } from 'vitest';
import { contentType, negotiate } from '../src/negotiate.js';

describe('negotiate', () => {
  it.each<[string | undefined, 'text' | 'openmetrics' | 'protobuf']>([
    [undefined, 'text'],
    ['', 'text'],
    ['*/*', 'text'],
    ['text/plain', 'text'],
    // Prometheus 2.x default
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    // Prometheus 3.x default, with native histograms asked for as protobuf first
    [
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      'protobuf',
    ],
    // Prometheus 2.40-2.54 with --enable-feature=native-histograms
    [
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'protobuf',
    ],
    // Only the delimited MetricFamily stream is written; a wildcard never gives protobuf.
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text,application/openmetrics-text;q=0.5', 'openmetrics'],
    ['application/vnd.google.protobuf;encoding=delimited', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.4,application/openmetrics-text;q=0.5', 'openmetrics'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,text/plain;q=0.6', 'text'],
    // scrape_protocols: [PrometheusText0.0.4]
    ['text/plain;version=0.0.4;q=1,*/*;q=0.9', 'text'],
    ['application/openmetrics-text', 'openmetrics'],
    ['Application/OpenMetrics-Text; Version=1.0.0', 'openmetrics'],
    ['application/openmetrics-text;version=0.0.1', 'openmetrics'],
    ['application/openmetrics-text;version=2.0.0', 'text'],
    ['application/openmetrics-text;q=0', 'text'],
    ['application/openmetrics-text;q=0.5, */*;q=0.5', 'openmetrics'],
    ['application/openmetrics-text;q=0.4, text/plain;q=0.5', 'text'],
    ['application/openmetrics-text;q=junk', 'text'],
    // RFC 9110 qvalues only: 0 or 1 with at most three decimals (Number() took these as weights).
    ['application/openmetrics-text;q=Infinity, text/plain;q=0.5', 'text'],
    ['application/openmetrics-text;q=0x1, text/plain;q=0.5', 'text'],
    ['application/openmetrics-text;q=1e0, text/plain;q=0.5', 'text'],
    ['application/openmetrics-text;q=2, text/plain;q=0.5', 'text'],
    ['application/openmetrics-text;q=0.0001, text/plain;q=0', 'text'],
    ['application/openmetrics-text;q=1.000, text/plain;q=0.999', 'openmetrics'],
    ['application/openmetrics-text;q=0.6, text/plain;q=0.5', 'openmetrics'],
    ['application/openmetrics-text;q=1., text/plain;q=0.5', 'openmetrics'],
  ])('%j -> %s', (accept, format) => {
    expect(negotiate(accept)).toBe(format);
  });

  it('names the versioned content types', () => {
    expect(contentType('text')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(contentType('openmetrics')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(contentType('protobuf')).toBe('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
  });
});
