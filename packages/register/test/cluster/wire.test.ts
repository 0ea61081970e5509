import type { HrTime } from '@opentelemetry/api';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { decodeScopes, encodeScopes } from '../../src/cluster/wire.js';
import { NOW, counter, gauge, histogram, scope } from './metric-data.js';

describe('encodeScopes / decodeScopes', () => {
  it('round-trips sums, gauges and histograms, non-finite numbers included', () => {
    const scopes = scope(
      counter('c', [[{ a: 'x', n: 1, list: ['p', 'q'] }, 5]]),
      gauge('g', NaN),
      gauge('h', -Infinity),
      histogram('d', [1, 2, 0], 1.5, 0.05, Infinity),
    );
    const decoded = decodeScopes(encodeScopes(scopes), NOW);
    const expected = scopes.map((s) => ({ ...s, metrics: s.metrics.map((m) => ({ ...m, dataPoints: m.dataPoints.map((p) => ({ ...p, endTime: NOW })) })) }));
    expect(decoded).toEqual(expected);
  });

  it('leaves end times out, so an unchanged snapshot encodes to the same string', () => {
    const later = counter('c', [[{}, 5]]);
    (later.dataPoints[0] as { endTime: HrTime }).endTime = NOW;
    expect(encodeScopes(scope(counter('c', [[{}, 5]])))).toBe(encodeScopes(scope(later)));
  });

  it('leaves out metrics without points and exponential histograms', () => {
    const exponential = { ...gauge('e', 1), dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM } as unknown as MetricData;
    expect(JSON.parse(encodeScopes(scope(counter('empty', []), exponential)))).toEqual([]);
  });

  describe('as a file (totalsOnly): anything encodeScopes could not have written is refused', () => {
    const good = (): Array<Record<string, unknown>> => JSON.parse(encodeScopes(scope(counter('c', [[{ a: 'x' }, 5]]), histogram('d', [1, 2, 0], 1.5, 0.05, 2))));
    const histogramPoint = (wire: Array<Record<string, unknown>>) =>
      ((wire[0]!.metrics as Array<{ points: Array<{ value: Record<string, unknown> }> }>)[1]!.points[0]!.value);
    const counterMetric = (wire: Array<Record<string, unknown>>) => (wire[0]!.metrics as Array<Record<string, unknown>>)[0]!;
    const decode = (wire: unknown) => decodeScopes(JSON.stringify(wire), NOW, { totalsOnly: true, maxPoints: 10 });

    it('accepts what encodeScopes writes', () => {
      expect(decode(good())).toHaveLength(1);
    });

    it.each<[string, (wire: Array<Record<string, unknown>>) => void]>([
      ['a negative counter', (w) => void ((counterMetric(w).points as Array<{ value: unknown }>)[0]!.value = -1e308)],
      ['an infinite counter', (w) => void ((counterMetric(w).points as Array<{ value: unknown }>)[0]!.value = 'Infinity')],
      ['a NaN counter', (w) => void ((counterMetric(w).points as Array<{ value: unknown }>)[0]!.value = 'NaN')],
      ['a count that is a string', (w) => void (histogramPoint(w).count = '35')],
      ['a count that is not the sum of its buckets', (w) => void (histogramPoint(w).count = 4)],
      ['counts that do not match the boundaries', (w) => void (histogramPoint(w).counts = [1, 2])],
      ['boundaries out of order', (w) => void (histogramPoint(w).boundaries = [1, 0.1])],
      ['a scale that is not a number', (w) => void (histogramPoint(w).exponential = { scale: 'x', zeroCount: 0, offset: 0, bucketCounts: [3] })],
      ['a scale out of range', (w) => void (histogramPoint(w).exponential = { scale: 21, zeroCount: 0, offset: 0, bucketCounts: [3] })],
      ['an offset out of range', (w) => void (histogramPoint(w).exponential = { scale: 8, zeroCount: 0, offset: 2 ** 40, bucketCounts: [3] })],
      ['too many buckets', (w) => void (histogramPoint(w).exponential = { scale: 8, zeroCount: 0, offset: 0, bucketCounts: new Array(161).fill(0) })],
      ['a missing descriptor', (w) => void delete counterMetric(w).descriptor],
      ['a gauge', (w) => void (counterMetric(w).dataPointType = DataPointType.GAUGE)],
      ['an up-down counter', (w) => void (counterMetric(w).isMonotonic = false)],
      ['an attribute that is an object', (w) => void ((counterMetric(w).points as Array<{ attributes: unknown }>)[0]!.attributes = { a: { b: 1 } })],
      ['a start time that is not one', (w) => void ((counterMetric(w).points as Array<{ startTime: unknown }>)[0]!.startTime = 'yesterday')],
      ['more points than allowed', (w) => void (counterMetric(w).points = new Array(11).fill((counterMetric(w).points as unknown[])[0]))],
      ['not a list', (w) => void (w[0]!.metrics = {})],
    ])('%s', (_what, spoil) => {
      const wire = good();
      spoil(wire);
      expect(() => decode(wire)).toThrow();
    });
  });
});
