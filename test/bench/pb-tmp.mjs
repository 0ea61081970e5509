import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { serialize } from '../../packages/prometheus/dist/index.js';
import { serializeProtobuf } from '../../packages/prometheus/dist/serialize-protobuf.js';
import { record } from './servers/synthetic-series.mjs';
import v8 from 'node:v8'; import vm from 'node:vm';
v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc');
class R extends MetricReader { async onShutdown() {} async onForceFlush() {} }
const out = [];
for (const [sets, counterOnly] of [[50, false], [500, false], [10000, true]]) {
  const reader = new R();
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'x' }), views: [{ instrumentName: '*', aggregationCardinalityLimit: sets + 1 }], readers: [reader] });
  record(provider.getMeter('m'), sets, { counterOnly });
  const { resourceMetrics } = await reader.collect();
  const t = [], pg = [];
  for (let i = 0; i < 31; i++) {
    gc(); let t0 = performance.now(); Buffer.from(serialize(resourceMetrics)); t.push(performance.now() - t0);
    gc(); t0 = performance.now(); serializeProtobuf(resourceMetrics); pg.push(performance.now() - t0);
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(2);
  out.push(`${counterOnly ? sets : sets * 20}${counterOnly ? ' counter-only' : ''}: text ${med(t)} / protobuf ${med(pg)}`);
}
console.log(out.join('; '));
