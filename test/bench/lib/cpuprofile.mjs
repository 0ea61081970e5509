// Summarises a V8 CPU profile (.cpuprofile, as --cpu-prof or the inspector's Profiler.stop give it):
// time by where the code comes from, by function, and the longest busy stretches. @mon/register
// ships as an esbuild bundle, so its frames are mapped back to the original sources through the
// bundle's source maps: one file holds mon's serializer and the bundled OpenTelemetry SDK, and only
// the map tells them apart.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a frame's code comes from, by its original source path; first match wins. */
const AREAS = [
  [/prometheus\/src\/(serialize|names)\.ts$/, 'mon: exposition text (prometheus/src/serialize.ts, names.ts)'],
  [/prometheus\/src\//, 'mon: PrometheusReader (prometheus/src), with the response write it calls'],
  [/host\/src\//, 'mon: host metric callbacks (host/src)'],
  [/register\/src\//, 'mon: register (HTTP server metrics, start-up)'],
  [/@opentelemetry\/sdk-metrics\//, 'OpenTelemetry sdk-metrics: collection'],
  [/@opentelemetry\//, 'OpenTelemetry, other packages'],
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const maps = new Map();

/** The file's source map and the directory its sources are relative to, or null. */
function sourceMapOf(url) {
  if (maps.has(url)) return maps.get(url);
  let found = null;
  try {
    const file = fileURLToPath(url);
    if (existsSync(`${file}.map`)) {
      const payload = JSON.parse(readFileSync(`${file}.map`, 'utf8'));
      found = { map: new SourceMap(payload), dir: path.resolve(path.dirname(file), payload.sourceRoot ?? '') };
    }
  } catch {
    found = null;
  }
  maps.set(url, found);
  return found;
}

/** A source path for the report: relative to the repository, without packages/ or node_modules/. */
const short = (file) => path.relative(root, file).replace(/^(packages|node_modules)\//, '');

/** { area, where }: the area of the code and `file:line` in the original source. */
export function locate(callFrame) {
  const { functionName, url, lineNumber, columnNumber } = callFrame;
  if (functionName === '(garbage collector)') return { area: 'GC', where: '' };
  if (functionName === '(program)') return { area: 'V8 and native code outside JS frames ("(program)")', where: '' };
  if (functionName === '(idle)') return { area: 'idle', where: '' };
  if (url === '') return { area: 'V8 builtins and native functions', where: '' };
  if (url.startsWith('node:')) return { area: 'Node internals (http, net, streams, timers)', where: `${url}:${lineNumber + 1}` };
  const found = url.startsWith('file:') ? sourceMapOf(url) : null;
  const entry = found?.map.findEntry(lineNumber, columnNumber);
  if (entry?.originalSource) {
    const source = short(path.resolve(found.dir, entry.originalSource));
    const area = AREAS.find(([re]) => re.test(source))?.[1] ?? `other: ${source}`;
    return { area, where: `${source}:${entry.originalLine + 1}` };
  }
  const file = url.startsWith('file:') ? short(fileURLToPath(url)) : url;
  const nodeModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  return { area: nodeModules ?? `app: ${file}`, where: `${file}:${lineNumber + 1}` };
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

/**
 * Summarises a profile. `profile.samples[i]` hit node `samples[i]`; `timeDeltas[i]` is the time
 * since the previous sample and is charged to sample i. Samples taken inside the inspector session
 * itself (node:inspector, the profiler being driven) are left out.
 *
 * - areas: time by *owner*, the nearest frame on the stack from a file (mon's bundle, a package, the
 *   app): Node's and V8's work is charged to the code that asked for it (the UTF-8 encoding of a
 *   response to the res.end() that wrote it). GC and "(program)" stay apart.
 * - functions: self time by function, each with the owner that called it most.
 * - stretches: runs of consecutive non-idle samples: while one lasts, the event loop does not get
 *   back to polling, so the longest is the longest the loop was held (to one sampling interval).
 */
export function summarize(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const info = new Map();
  const infoOf = (id) => {
    let cached = info.get(id);
    if (cached) return cached;
    const node = byId.get(id);
    const frame = node.callFrame;
    let owner;
    let inspector = false;
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      if (f.url.startsWith('node:inspector')) inspector = true;
      if (owner === undefined && f.url.startsWith('file:')) owner = f;
    }
    let self = locate(frame);
    if (frame.url === '' && !SPECIAL.has(frame.functionName) && parent.has(id)) {
      // A native function (the UTF-8 writer, a builtin): say which JS function called it.
      const caller = byId.get(parent.get(id)).callFrame;
      const at = locate(caller).where;
      self = { ...self, where: `native, called by ${caller.functionName || '(anonymous)'}${at ? ` (${at})` : ''}` };
    }
    const ownerArea = SPECIAL.has(frame.functionName) ? self.area : owner ? locate(owner).area : 'Node internals (no mon or app frame on the stack)';
    const ownerName = owner && owner !== frame ? `${owner.functionName || '(anonymous)'} (${locate(owner).where})` : '';
    cached = { self, ownerArea, ownerName, inspector, idle: frame.functionName === '(idle)', name: frame.functionName || '(anonymous)' };
    info.set(id, cached);
    return cached;
  };

  const areas = new Map();
  const functions = new Map();
  const stretches = [];
  let current = null;
  let totalUs = 0;
  let idleUs = 0;
  let excludedUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]);
    if (!node || node.callFrame.functionName === '(root)') continue;
    const s = infoOf(node.id);
    if (s.inspector) {
      excludedUs += us;
      current = null;
      continue;
    }
    totalUs += us;
    if (s.idle) {
      idleUs += us;
      current = null;
      continue;
    }
    if (current === null) {
      current = { us: 0, areas: new Map() };
      stretches.push(current);
    }
    current.us += us;
    current.areas.set(s.ownerArea, (current.areas.get(s.ownerArea) ?? 0) + us);
    areas.set(s.ownerArea, (areas.get(s.ownerArea) ?? 0) + us);
    const key = `${s.name}\u0000${s.self.where}\u0000${s.self.area}`;
    let f = functions.get(key);
    if (!f) functions.set(key, (f = { us: 0, owners: new Map() }));
    f.us += us;
    if (s.ownerName) f.owners.set(s.ownerName, (f.owners.get(s.ownerName) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const ms = (us) => us / 1000;
  const byTime = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: ms(totalUs),
    idleMs: ms(idleUs),
    busyMs: ms(busyUs),
    excludedMs: ms(excludedUs),
    areas: byTime(areas).map(([area, us]) => ({ area, ms: ms(us), share: us / busyUs })),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .map(([key, f]) => {
        const [name, where, area] = key.split('\u0000');
        return { name, where, area, ms: ms(f.us), share: f.us / busyUs, calledBy: byTime(f.owners)[0]?.[0] ?? '' };
      }),
    stretches: stretches
      .map((st) => ({ ms: ms(st.us), areas: byTime(st.areas).map(([area, us]) => ({ area, ms: ms(us) })) }))
      .sort((a, b) => b.ms - a.ms),
  };
}
