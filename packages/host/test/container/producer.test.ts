// The container series from HostMetrics.producer() (the `producer` option): what a reader gets
// must be what the instruments gave it (names, units, descriptions, kinds, temporality, scope,
// points), read from cgroup directory trees.
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AggregationTemporality, InstrumentType, type MetricData } from '@opentelemetry/sdk-metrics';
import { CONTAINER_METRICS } from '../../src/container/container-metrics.js';
import { HOST_METER_NAME } from '../../src/meter-name.js';
import { points, start, value, type Collected, type Harness } from '../support.js';
import { tree, v1Tree, v2Tree, type Tree } from './tree.js';

const harnesses: Harness[] = [];
let t: Tree | undefined;
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  t?.remove();
  t = undefined;
});

const leaf = 'sys/fs/cgroup/kubepods.slice/pod1/c1';
// What OTLP's `delta` temporality preference chooses (exporter-metrics-otlp-http's DeltaTemporalitySelector).
const otlpDelta = (type: InstrumentType) =>
  type === InstrumentType.UP_DOWN_COUNTER || type === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA;

const startIn = (tr: Tree, producer: boolean, { warn = vi.fn(), onError = vi.fn(), delta = false } = {}) => {
  const h = start({ groups: ['container'], root: tr.root, warn, onError, producer }, delta ? { temporality: otlpDelta } : {});
  harnesses.push(h);
  return h;
};

/** What a reader sees of one metric: everything but the SDK's own extras (descriptor.type, advice) and the times. */
function seen(metric: MetricData | undefined) {
  if (!metric) return undefined;
  const { name, unit, description, valueType } = metric.descriptor;
  return {
    descriptor: { name, unit, description, valueType },
    dataPointType: metric.dataPointType,
    aggregationTemporality: metric.aggregationTemporality,
    isMonotonic: 'isMonotonic' in metric ? metric.isMonotonic : undefined,
    points: (metric.dataPoints as { attributes: object; value: unknown }[])
      .map((p) => ({ attributes: p.attributes, value: p.value }))
      .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes))),
  };
}

const names = (c: Collected) => [...c.metrics.keys()].filter((n) => points(c, n).length > 0).sort();

describe('the container producer', () => {
  for (const [version, make] of [['v2', () => v2Tree()], ['v1', () => v1Tree()]] as const) {
    it(`gives a reader what the instruments gave it (cgroup ${version})`, async () => {
      t = make();
      const instruments = await startIn(t, false).collect();
      const produced = await startIn(t, true).collect();
      expect(produced.errors).toEqual([]);
      expect(names(produced)).toEqual([...CONTAINER_METRICS].sort());
      expect(names(instruments)).toEqual(names(produced));
      for (const name of CONTAINER_METRICS) {
        expect(seen(produced.metrics.get(name)), name).toEqual(seen(instruments.metrics.get(name)));
        // The host meter's scope: the cluster merge rules and the exporters know them by it.
        expect(produced.scopes.get(name)).toBe(HOST_METER_NAME);
      }
    });
  }

  it('reads the limits afresh at each collection', async () => {
    t = v2Tree();
    const h = startIn(t, true);
    expect(value(await h.collect(), 'container.memory.limit')).toBe(268435456);
    t.write(`${leaf}/memory.max`, '536870912\n');
    t.write(`${leaf}/cpu.max`, '200000 100000\n');
    const c = await h.collect();
    expect(value(c, 'container.memory.limit')).toBe(536870912);
    expect(value(c, 'container.cpu.limit')).toBe(2);
  });

  it("gives a delta reader (OTLP's delta preference) what each counter gained since its previous collection, as the SDK does, and levels as they are", async () => {
    t = v2Tree();
    const instruments = startIn(t, false, { delta: true });
    const produced = startIn(t, true, { delta: true });
    const both = async () => [await instruments.collect(), await produced.collect()] as const;
    const [i1, p1] = await both();
    expect(value(p1, 'container.cpu.periods')).toBe(120);
    t.write(`${leaf}/cpu.stat`, 'usage_usec 6000000\nuser_usec 5000000\nsystem_usec 1000000\nnr_periods 150\nnr_throttled 50\nthrottled_usec 2000000\n');
    t.write(`${leaf}/memory.current`, '160000000\n');
    const [i2, p2] = await both();
    expect(value(p2, 'container.cpu.periods')).toBe(30);
    expect(value(p2, 'container.cpu.time', { 'cpu.mode': 'user' })).toBe(1);
    expect(value(p2, 'container.memory.usage')).toBe(160_000_000);
    for (const [i, p] of [[i1, p1], [i2, p2]] as const) {
      for (const name of CONTAINER_METRICS) {
        if (name === 'container.cpu.limit') {
          // A gauge's temporality means nothing on the wire (OTLP gauges have none); the SDK says the reader's.
          expect(seen(p.metrics.get(name))!.points).toEqual(seen(i.metrics.get(name))!.points);
          continue;
        }
        const theirs = seen(i.metrics.get(name));
        expect(seen(p.metrics.get(name)), name).toEqual(theirs);
      }
    }
    // Each point covers the time since that reader's previous collection.
    const [first, second] = [p1, p2].map((c) => points(c, 'container.cpu.periods')[0]!);
    expect(second!.startTime).toEqual(first!.endTime);
  });

  it('no limit anywhere: no scope at all, no warning, no error', async () => {
    t = v2Tree({ memoryMax: 'max', cpuMax: 'max 100000' });
    const warn = vi.fn();
    const onError = vi.fn();
    const h = startIn(t, true, { warn, onError });
    const c = await h.collect();
    expect(names(c)).toEqual([]);
    expect(c.scopes.size).toBe(0);
    expect(warn).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  it('a failing read: one report through onError, the collection carries on', async () => {
    t = v2Tree();
    fs.rmSync(`${t.root}/${leaf}/memory.stat`);
    const onError = vi.fn();
    const h = startIn(t, true, { onError });
    for (let i = 0; i < 3; i++) {
      const c = await h.collect();
      expect(c.errors).toEqual([]);
      expect(names(c)).toEqual([]);
    }
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toBe('container');
  });

  it("says once at start that V8's heap limit is above the container's", () => {
    t = v2Tree({ memoryMax: String(16 * 1024 * 1024) });
    const warn = vi.fn();
    startIn(t, true, { warn });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toBe('MON_HEAP_ABOVE_LIMIT');
  });

  it('produces nothing without the option, with no cgroup, or after stop()', async () => {
    t = v2Tree();
    const without = startIn(t, false);
    expect((await without.host.producer().collect()).resourceMetrics.scopeMetrics).toEqual([]);
    const h = startIn(t, true);
    expect(names(await h.collect())).toHaveLength(CONTAINER_METRICS.length);
    h.host.stop();
    expect(names(await h.collect())).toEqual([]);
    const empty = tree();
    try {
      expect(names(await startIn(empty, true).collect())).toEqual([]);
    } finally {
      empty.remove();
    }
  });
});
