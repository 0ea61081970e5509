import { describe, expect, it } from 'vitest';
import { mergeRule } from '../../src/cluster/merge-rule.js';
import { counter, gauge, histogram, upDown } from './metric-data.js';

describe('mergeRule', () => {
  it('sums totals and levels, keeps gauges and process-level up-down counters per process', () => {
    expect(mergeRule(counter('http.server.requests', []))).toBe('total');
    expect(mergeRule(counter('process.cpu.time', []))).toBe('total');
    expect(mergeRule(histogram('http.server.request.duration', [0, 0, 0], 0, 0, 0))).toBe('total');
    expect(mergeRule(histogram('v8js.gc.duration', [0, 0, 0], 0, 0, 0))).toBe('total');
    expect(mergeRule(upDown('http.server.active_requests', []))).toBe('level');
    expect(mergeRule(upDown('shop.queue.length', []))).toBe('level');
    expect(mergeRule(upDown('process.memory.usage', []))).toBe('per-process');
    expect(mergeRule(upDown('v8js.memory.heap.used', []))).toBe('per-process');
    expect(mergeRule(gauge('nodejs.eventloop.delay.p99', 0))).toBe('per-process');
    expect(mergeRule(gauge('shop.temperature', 0))).toBe('per-process');
    expect(mergeRule(upDown('system.memory.usage', []))).toBe('machine');
    expect(mergeRule(gauge('system.cpu.utilization', 0))).toBe('machine');
  });
});

