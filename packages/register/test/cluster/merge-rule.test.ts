import { HOST_METER_NAME } from '@mon/host';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { mergeRule } from '../../src/cluster/merge-rule.js';
import { counter, gauge, histogram, upDown } from './metric-data.js';

const app = (metric: MetricData) => mergeRule({ name: 'shop' }, metric);
const host = (metric: MetricData) => mergeRule({ name: HOST_METER_NAME }, metric);

describe('mergeRule', () => {
  it("takes an app's instrument at its kind: counters and histograms are totals, up-down counters levels, gauges per process", () => {
    expect(app(counter('http.server.requests', []))).toBe('total');
    expect(app(histogram('http.server.request.duration', [0, 0, 0], 0, 0, 0))).toBe('total');
    expect(app(upDown('http.server.active_requests', []))).toBe('level');
    expect(app(upDown('shop.queue.length', []))).toBe('level');
    expect(app(gauge('shop.temperature', 0))).toBe('per-process');
  });

  it("never judges an app's instrument by its name", () => {
    expect(app(upDown('process.memory.usage', []))).toBe('level');
    expect(app(upDown('system.memory.usage', []))).toBe('level');
    expect(app(gauge('system.cpu.utilization', 0))).toBe('per-process');
    expect(app(counter('system.network.io', []))).toBe('total');
  });

  it("keeps mon's host up-down counters per process, and its system.* from the machine", () => {
    expect(host(counter('process.cpu.time', []))).toBe('total');
    expect(host(histogram('v8js.gc.duration', [0, 0, 0], 0, 0, 0))).toBe('total');
    expect(host(upDown('process.memory.usage', []))).toBe('per-process');
    expect(host(upDown('v8js.memory.heap.used', []))).toBe('per-process');
    expect(host(gauge('nodejs.eventloop.delay.p99', 0))).toBe('per-process');
    expect(host(upDown('system.memory.usage', []))).toBe('machine');
    expect(host(gauge('system.cpu.utilization', 0))).toBe('machine');
  });

  it("takes mon's container.* as the machine's too: one cgroup for the whole cluster, the primary's", () => {
    expect(host(upDown('container.memory.working_set', []))).toBe('machine');
    expect(host(gauge('container.cpu.limit', 0))).toBe('machine');
    expect(host(counter('container.memory.oom_kills', []))).toBe('machine');
    expect(app(counter('container.memory.oom_kills', []))).toBe('total');
  });
});
