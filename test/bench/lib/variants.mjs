// What the benches compare: the same app started bare, under mon, and under a peer. Each variant
// says how to start it and, when it records HTTP metrics, where to scrape and which series counts
// requests, so a bench can check that the instrumented variants really counted the load they were
// measured under (a preload that silently records nothing would look fast).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanEnv, freePort, get, spawnNode, stop, sumSamples, waitListening } from './process.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..', '..');
const server = (name) => path.join(here, '..', 'servers', name);

const MON = ['--import', '@mon/register'];
const PEER_OTEL = ['--import', pathToFileURL(server('peer-otel.mjs')).href];

/**
 * group: the app; variants of one group are compared to its `baseline`.
 * metrics.on: 'own' = a metrics port of its own (OTEL_EXPORTER_PROMETHEUS_PORT), 'app' = the app's port.
 * metrics.series: names whose samples sum to the number of requests served (first one present wins).
 * env (optional): extra environment for the server.
 */
export const VARIANTS = [
  { id: 'bare', group: 'node:http', name: 'bare', script: 'hello.mjs', nodeArgs: [], baseline: true },
  {
    id: 'mon',
    group: 'node:http',
    name: 'mon',
    script: 'hello.mjs',
    nodeArgs: MON,
    metrics: { on: 'own', series: ['http_server_requests_total'] },
  },
  {
    id: 'otel',
    group: 'node:http',
    name: 'OTel instrumentation-http',
    script: 'hello.mjs',
    nodeArgs: PEER_OTEL,
    // exporter-prometheus 0.223 drops the unit suffix; accept the compatible name too.
    metrics: { on: 'own', series: ['http_server_request_duration_count', 'http_server_request_duration_seconds_count'] },
  },
  // The same app as CommonJS, for start-up only (startup.mjs): its per-request figures are hello.mjs's.
  { id: 'bare-cjs', group: 'node:http CommonJS', name: 'bare', script: 'hello.cjs', nodeArgs: [], baseline: true, startupOnly: true },
  {
    id: 'mon-cjs',
    group: 'node:http CommonJS',
    name: 'mon',
    script: 'hello.cjs',
    nodeArgs: MON,
    metrics: { on: 'own', series: ['http_server_requests_total'] },
    startupOnly: true,
  },
  { id: 'express', group: 'express', name: 'bare', script: 'express.mjs', nodeArgs: [], baseline: true },
  {
    id: 'express-mon',
    group: 'express',
    name: 'mon',
    script: 'express.mjs',
    nodeArgs: MON,
    metrics: { on: 'own', series: ['http_server_requests_total'] },
  },
  {
    id: 'express-prom',
    group: 'express',
    name: 'prom-client + express-prom-bundle',
    script: 'express-prom.mjs',
    nodeArgs: [],
    metrics: { on: 'app', series: ['http_request_duration_seconds_count'] },
  },
  // An app making one outgoing call per request (servers/proxy.mjs): what http.client.* metrics cost.
  ...['fetch', 'http'].flatMap((client) => [
    {
      id: `proxy-${client}`,
      group: `proxy (${client})`,
      name: 'bare',
      script: 'proxy.mjs',
      nodeArgs: [],
      env: { BENCH_PROXY_CLIENT: client },
      baseline: true,
    },
    {
      id: `proxy-${client}-mon`,
      group: `proxy (${client})`,
      name: 'mon',
      script: 'proxy.mjs',
      nodeArgs: MON,
      env: { BENCH_PROXY_CLIENT: client },
      metrics: { on: 'own', series: ['http_client_request_duration_seconds_count'] },
    },
    {
      // Node's (and undici's) own cost of the channels mon listens on, before mon does anything.
      id: `proxy-${client}-floor`,
      group: `proxy (${client})`,
      name: 'floor: bare + subscribers on the server and client channels',
      script: 'proxy.mjs',
      nodeArgs: ['--import', pathToFileURL(server('client-dc-floor.mjs')).href],
      env: { BENCH_PROXY_CLIENT: client },
    },
    {
      // mon with its server metrics only: the difference to `mon` is what the client side costs.
      id: `proxy-${client}-mon-server-only`,
      group: `proxy (${client})`,
      name: 'mon, MON_METRICS without http-client',
      script: 'proxy.mjs',
      nodeArgs: MON,
      env: { BENCH_PROXY_CLIENT: client, MON_METRICS: 'http,cpu,memory,disk,process,runtime' },
      metrics: { on: 'own', series: ['http_server_requests_total'] },
    },
  ]),
];

/** The command line a variant runs, relative to the repository root, for the reports. */
export function commandOf(variant) {
  const args = variant.nodeArgs.map((a) => (a.startsWith('file:') ? path.relative(root, fileURLToPath(a)) : a));
  return ['node', ...args, path.relative(root, server(variant.script))].join(' ');
}

/** Variants selected by `--only id,id` (all when `only` is empty), keeping each group's baseline. */
/** `startup`: include the variants that only the start-up bench runs (startupOnly). */
export function selectVariants(only, { startup = false } = {}) {
  const known = VARIANTS.filter((v) => startup || !v.startupOnly);
  if (!only || only.length === 0) return known;
  const unknown = only.filter((id) => !VARIANTS.some((v) => v.id === id));
  if (unknown.length) throw new Error(`unknown variant(s) ${unknown.join(', ')}; known: ${VARIANTS.map((v) => v.id).join(', ')}`);
  return known.filter((v) => only.includes(v.id) || (v.baseline && known.some((o) => o.group === v.group && only.includes(o.id))));
}

let outside;
/**
 * A directory outside the repository holding copies of the servers and links to the packages they
 * import, for start-up: mon registers through the app's own `@opentelemetry/api` when the app has
 * one installed (it loads it: +62 M instructions on Node 24 for api 1.9's CommonJS files), and the
 * repository's node_modules has one, which a zero-code app does not. Made once per process.
 */
export function outsideRepository() {
  if (outside) return outside;
  outside = mkdtempSync(path.join(tmpdir(), 'mon-bench-app-'));
  for (const name of readdirSync(path.join(here, '..', 'servers'))) {
    if (/\.(mjs|cjs)$/.test(name)) copyFileSync(server(name), path.join(outside, name));
  }
  for (const pkg of ['@mon/register', 'express', 'express-prom-bundle', 'prom-client']) {
    mkdirSync(path.dirname(path.join(outside, 'node_modules', pkg)), { recursive: true });
    symlinkSync(realpathSync(path.join(root, 'node_modules', pkg)), path.join(outside, 'node_modules', pkg), 'dir');
  }
  process.once('exit', () => rmSync(outside, { recursive: true, force: true }));
  return outside;
}

/**
 * Ports and environment for one start of a variant; `outside`: run it from outsideRepository()
 * (start-up), not from the repository.
 */
export async function prepare(variant, { outside = false } = {}) {
  const port = await freePort();
  const metricsPort = variant.metrics?.on === 'own' ? await freePort() : port;
  const env = cleanEnv({
    ...variant.env,
    PORT: String(port),
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
  });
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    metricsUrl: variant.metrics ? `http://127.0.0.1:${metricsPort}/metrics` : null,
    env,
    spawn: () =>
      outside
        ? spawnNode([...variant.nodeArgs, path.join(outsideRepository(), variant.script)], { env, cwd: outsideRepository() })
        : spawnNode([...variant.nodeArgs, server(variant.script)], { env, cwd: root }),
  };
}

/** Starts a variant and waits for its `listening` line. */
export async function start(variant) {
  const prepared = await prepare(variant);
  const proc = prepared.spawn();
  try {
    await waitListening(proc);
  } catch (error) {
    await stop(proc);
    error.message = `${commandOf(variant)}: ${error.message}`;
    throw error;
  }
  return { ...prepared, proc, pid: proc.child.pid, stop: () => stop(proc) };
}

/**
 * Requests the variant's metrics say it served (null for a variant without metrics). Throws when the
 * endpoint does not answer or has none of the expected series: the setup is broken, and numbers
 * measured on it would mean nothing.
 */
export async function countedRequests(variant, running) {
  if (!variant.metrics) return null;
  let res;
  try {
    res = await get(running.metricsUrl);
  } catch (error) {
    throw new Error(`${commandOf(variant)}: scrape of ${running.metricsUrl} failed: ${error.message}`);
  }
  if (res.status !== 200) throw new Error(`${commandOf(variant)}: ${running.metricsUrl} answered ${res.status}`);
  for (const name of variant.metrics.series) {
    const sum = sumSamples(res.body, name);
    if (sum !== null) return sum;
  }
  throw new Error(
    `${commandOf(variant)}: no ${variant.metrics.series.join(' / ')} on ${running.metricsUrl}: ` +
      'requests were not counted, the setup is broken',
  );
}
