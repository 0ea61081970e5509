// Where a server's memory goes under load, for soak.mjs's RSS figures: one server of each variant
// in turn (servers/heap-probe.mjs preloaded), warmed up and scraped once (so the code and the
// SDK's storage a first collection creates are there), then --rounds times: --requests requests
// (wrk -t1 -c50, stopped by count), --scrapes scrapes (default 1), a probe. Each probe prints RSS, the JS heap in use
// after a full GC, what V8 has committed per space and what its young generation has grown to;
// with --trace-gc, V8's own account of every scavenge in the round (bytes that survived in the
// young generation and bytes promoted to the old one, per scavenge: what makes V8 grow its young
// generation). With BENCH_HEAP_SNAPSHOT=<dir>, each probe writes a heap snapshot too; compare two
// of one process with heap-diff.mjs. A snapshot leaves the process holding more native memory: the
// RSS of a run with snapshots is not comparable with one without.
//
//   node test/bench/heap-growth.mjs [--node 24] [--requests 1000000] [--rounds 2] [--scrapes 1] [--trace-gc] [--env NAME=value]
//        [--variant mon] [--variant gc-floor] ...   (default: bare, mon, mon-http, gc-floor)
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { get, rssBytes, waitForLine } from './lib/process.mjs';
import { start } from './lib/variants.mjs';
import { wrk } from './lib/wrk.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const href = (name) => pathToFileURL(path.join(here, 'servers', name)).href;
const MON = ['--import', '@mon/register'];
const METRICS = { on: 'own', series: ['http_server_requests_total'] };
const VARIANTS = {
  bare: {},
  mon: { nodeArgs: MON, metrics: METRICS },
  'mon-http': { nodeArgs: MON, metrics: METRICS, env: { MON_METRICS: 'http', MON_UI: 'off' } },
  'mon-no-runtime': { nodeArgs: MON, metrics: METRICS, env: { MON_METRICS: 'http,cpu,memory,disk,process' } },
  'gc-floor': { nodeArgs: ['--import', href('gc-observer-floor.mjs')] },
  // mon with V8's young generation held to 4 MB semi-spaces (V8's flag, in MB): what bare's stays at.
  'mon-young-4': { nodeArgs: ['--max-semi-space-size=4', ...MON], metrics: METRICS },
};
const MB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    node: { type: 'string' },
    requests: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '2' },
    scrapes: { type: 'string', default: '1' },
    'trace-gc': { type: 'boolean' },
    variant: { type: 'string', multiple: true },
    env: { type: 'string', multiple: true },
  },
});
if (values.node !== undefined) {
  // The same command under another line's binary (lib/options.mjs does this for the other benches).
  const { parseOptions } = await import('./lib/options.mjs');
  parseOptions(['--node', values.node]);
}
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const scrapes = Number(values.scrapes);
// --env NAME=value, for every server: MALLOC_ARENA_MAX=1, say, to see what glibc's per-thread arenas hold.
const extraEnv = Object.fromEntries((values.env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));

async function probe(server) {
  const from = server.proc.stdout().length;
  server.proc.child.kill('SIGUSR2');
  return JSON.parse((await waitForLine(server.proc, /^heap-probe (\{.*\})$/m, from, 120_000))[1]);
}

/** Scavenges in V8's --trace-gc-nvp lines: count, bytes survived and promoted per scavenge. */
function scavenges(text) {
  let count = 0;
  let survived = 0;
  let promoted = 0;
  for (const line of text.split('\n')) {
    // name=value pairs up to Node 24, JSON from Node 26.
    if (!line.includes(' gc=s ') && !line.includes('"gc":"s"')) continue;
    count++;
    survived += Number(/[ "]new_space_survived"?[=:](\d+)/.exec(line)?.[1] ?? 0);
    promoted += Number(/[ "]promoted"?[=:](\d+)/.exec(line)?.[1] ?? 0);
  }
  return count ? `${count} scavenges, per scavenge ${Math.round(survived / count)} B survived, ${Math.round(promoted / count)} B promoted` : '';
}

const show = (p) =>
  `RSS ${(p.rss / MB).toFixed(1)} MB, heap in use after GC ${(p.used / MB).toFixed(2)} MB, committed ${(p.committed / MB).toFixed(1)} MB ` +
  `(${Object.entries(p.spaces).map(([s, mb]) => `${s.replace('_space', '')} ${mb}`).join(', ')}), young generation ${(p.newSpace / MB).toFixed(0)} MB` +
  `${p.snapshot ? `, ${p.snapshot}` : ''}`;

console.log(`${process.version}: ${rounds} round(s) of ${requests} requests (wrk -t1 -c50), each followed by a scrape and a probe`);
for (const id of values.variant ?? ['bare', 'mon', 'mon-http', 'gc-floor']) {
  const spec = VARIANTS[id];
  if (!spec) throw new Error(`unknown --variant ${id}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const nodeArgs = ['--expose-gc', ...(values['trace-gc'] ? ['--trace-gc-nvp'] : []), '--import', href('heap-probe.mjs'), ...(spec.nodeArgs ?? [])];
  const server = await start({ id, name: id, script: 'hello.mjs', nodeArgs, env: { ...spec.env, ...extraEnv }, metrics: spec.metrics });
  try {
    await get(server.url);
    await wrk(server.url, { seconds: 2, connections: 50 });
    // mon opens its endpoint a second after start (register/src/after-start-up.ts).
    for (let tries = 0; spec.metrics; tries++) {
      const res = await get(server.metricsUrl).catch((error) => (tries < 150 ? null : Promise.reject(error)));
      if (res?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`${id} warm, scraped: ${show(await probe(server))}`);
    for (let round = 1; round <= rounds; round++) {
      const mark = server.proc.stdout().length;
      const result = await wrk(server.url, { seconds: 3600, connections: 50, requests });
      for (let i = 0; spec.metrics && i < scrapes; i++) await get(server.metricsUrl);
      const rss = rssBytes(server.pid);
      const gc = scavenges(server.proc.stdout().slice(mark));
      console.log(`${id} +${result.requests} requests (${Math.round(result.rps)} req/s), VmRSS ${(rss / MB).toFixed(1)} MB before the probe's GC: ${show(await probe(server))}${gc ? `; ${gc}` : ''}`);
    }
  } finally {
    await server.stop();
  }
}
