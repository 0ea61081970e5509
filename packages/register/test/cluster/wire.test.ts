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
});

