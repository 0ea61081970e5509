import { HOST_METER_NAME } from '@mon/host';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { OnDemandReader } from '../../src/cluster/on-demand-reader.js';
import { WORKER_VIEWS, workerHostGroups } from '../../src/cluster/worker-instruments.js';

describe('WORKER_VIEWS', () => {
  it("drops mon's system.* host metrics in a worker, and keeps its process.* ones and the app's own system.* instruments", async () => {
    const reader = new OnDemandReader();
    const provider = new MeterProvider({ readers: [reader], views: WORKER_VIEWS });
    provider.getMeter(HOST_METER_NAME).createObservableGauge('system.cpu.utilization').addCallback((r) => r.observe(0.5));
    provider.getMeter(HOST_METER_NAME).createObservableGauge('process.cpu.utilization').addCallback((r) => r.observe(0.1));
    provider.getMeter('shop').createCounter('system.jobs').add(2);
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => `${s.scope.name} ${m.descriptor.name}`));
    expect(names.sort()).toEqual([`${HOST_METER_NAME} process.cpu.utilization`, 'shop system.jobs']);
    await provider.shutdown();
  });
});

describe('workerHostGroups', () => {
  it("leaves out the machine-wide 'disk' group", () => {
    expect(workerHostGroups(['cpu', 'memory', 'disk', 'process', 'runtime', 'container'])).toEqual(['cpu', 'memory', 'process', 'runtime']);
  });
});
