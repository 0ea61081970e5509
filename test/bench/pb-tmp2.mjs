import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { serializeProtobuf } from '../../packages/prometheus/dist/serialize-protobuf.js';
import { record } from './servers/synthetic-series.mjs';
class R extends MetricReader { async onShutdown() {} async onForceFlush() {} }
const reader = new R();
const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'x' }), views: [{ instrumentName: '*', aggregationCardinalityLimit: 51 }], readers: [reader] });
record(provider.getMeter('m'), 50, { counterOnly: false });
const { resourceMetrics } = await reader.collect();
const ts = [];
for (let i = 0; i < 300; i++) { const t0 = performance.now(); serializeProtobuf(resourceMetrics); ts.push(performance.now() - t0); }
console.log(ts.slice(-10).map((t) => t.toFixed(2)).join(' '));
