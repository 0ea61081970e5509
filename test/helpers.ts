// Shared by the end-to-end tests: spawn real processes under `node --import @mon/register`,
// send real HTTP traffic, scrape the real endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { START_UP_GRACE_MS } from '../packages/register/src/after-start-up.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const fixture = (name: string): string => path.join(root, 'test', 'fixtures', name);
export const example = (name: string): string => path.join(root, 'examples', name);

// Ports come from a block of this vitest fork's own (VITEST_POOL_ID is 1..maxWorkers), below
// Linux's ephemeral range (32768-60999, where bind(0) and outgoing connections take theirs), handed
// out in turn: two forks binding port 0 could be given the same port between one's check and its
// use, two forks here never can. Each port is still checked free (other programs on the machine).
const PORT_BLOCK = 400;
const PORT_BASE = 20_000;
const poolId = Number(process.env.VITEST_POOL_ID ?? 0) % 30;
let nextPort = PORT_BASE + poolId * PORT_BLOCK + Math.floor(Math.random() * PORT_BLOCK);

/** A port of this fork's block that was free a moment ago. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_BLOCK; tries++) {
    const port = nextPort;
    nextPort = PORT_BASE + poolId * PORT_BLOCK + ((nextPort - PORT_BASE - poolId * PORT_BLOCK + 1) % PORT_BLOCK);
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port in ${PORT_BASE + poolId * PORT_BLOCK}-${PORT_BASE + (poolId + 1) * PORT_BLOCK - 1}`);
}

// All interfaces: the apps listen on every interface, their metrics on 127.0.0.1.
async function isFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.once('listening', () => resolve(true));
    server.listen(port);
  });
  if (free) {
    server.close();
    await once(server, 'close');
  }
  return free;
}

export interface App {
  child: ChildProcess;
  /** Port the app itself listens on (it prints `listening <port>` on stdout). */
  port: number;
  metricsPort: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  stop: () => Promise<number | string>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  /** Node arguments placed before the script; default ['--import', '@mon/register']. */
  nodeArgs?: string[];
  args?: string[];
  cwd?: string;
  /** Wait for the `listening <port>` line; default true. */
  waitForListening?: boolean;
  /** Called as soon as the process exists, before it has run any code (a test that must know its pid first). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * Spawns `node --import @mon/register <script>` with the app on a free port (PORT) and the
 * metrics endpoint on another (OTEL_EXPORTER_PROMETHEUS_PORT), and waits until the app says
 * `listening <port>`.
 */
export async function spawnApp(script: string, options: SpawnOptions = {}): Promise<App> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? ['--import', '@mon/register']), script, ...(options.args ?? [])],
    { cwd: options.cwd ?? root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  options.onSpawn?.(child);
  const app = appOf(child, port, metricsPort);
  if (options.waitForListening !== false) await listening(app, 15_000, `app did not start: ${script}`);
  return app;
}

/** An App around a spawned child: its output kept, `stop` kills it (SIGKILL) and waits for its exit. */
export function appOf(child: ChildProcess, port: number, metricsPort: number): App {
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    port,
    metricsPort,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Waits until the app prints `listening <port>`; an app that exits or takes longer is stopped and the test fails. */
export async function listening(app: App, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!/listening \d+/.test(app.stdout())) {
    if (app.child.exitCode !== null || Date.now() > deadline) {
      await app.stop();
      throw new Error(`${what}\nstdout: ${app.stdout()}\nstderr: ${app.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request. A refused connection is tried again for up to ENDPOINT_WAIT_MS: mon opens its
 * endpoint START_UP_GRACE_MS after the app starts (packages/register/src/after-start-up.ts), so a
 * test that scrapes as soon as the app listens waits for it; `retry: false` for a test that expects
 * the refusal (expectNoEndpoint).
 */
export async function request(
  port: number,
  urlPath: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; retry?: boolean } = {},
): Promise<Reply> {
  const deadline = Date.now() + ENDPOINT_WAIT_MS;
  for (;;) {
    try {
      return await requestOnce(port, urlPath, options);
    } catch (error) {
      const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      if (!refused || options.retry === false || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Waits until the metrics endpoint is open (START_UP_GRACE_MS after start) through a path that
 * collects nothing, so that what a test times or polls next starts with the endpoint up.
 */
export async function waitForEndpoint(metricsPort: number): Promise<void> {
  const reply = await request(metricsPort, '/no-such-page');
  if (reply.status !== 404) throw new Error(`the metrics endpoint answered ${reply.status} for an unknown path, not 404`);
}

/** How long request() waits for an endpoint that is not open yet: the grace, and room for a loaded machine. */
export const ENDPOINT_WAIT_MS = START_UP_GRACE_MS + 4_000;

function requestOnce(
  port: number,
  urlPath: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Nothing serves on `port`, checked once the endpoint would have opened (START_UP_GRACE_MS after
 * start, and a margin): a refusal before then would prove nothing.
 */
export async function expectNoEndpoint(port: number): Promise<void> {
  await new Promise((r) => setTimeout(r, START_UP_GRACE_MS + 1_000));
  const error = await requestOnce(port, '/metrics', {}).then(
    (reply) => new Error(`expected no endpoint on ${port}, got HTTP ${reply.status}`),
    (e: NodeJS.ErrnoException) => e,
  );
  if (error.code !== 'ECONNREFUSED') throw error;
}

/** Starts a request and destroys the socket before the response is complete. */
export function abortedRequest(port: number, urlPath: string, afterMs = 50): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    // Counted from when the request is on the socket: counted from its creation, a loaded
    // machine's pause could destroy it before the server ever saw it.
    req.on('finish', () => setTimeout(() => req.destroy(), afterMs));
    req.end();
  });
}

/**
 * Waits until the app's stderr matches `pattern` (a warning about the endpoint comes once it opens,
 * START_UP_GRACE_MS after start); fails with what stderr said after ENDPOINT_WAIT_MS.
 */
export async function waitForStderr(app: App, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + ENDPOINT_WAIT_MS;
  while (!pattern.test(app.stderr())) {
    if (Date.now() > deadline) throw new Error(`stderr never matched ${pattern}:\n${app.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function scrape(metricsPort: number, accept?: string): Promise<Reply> {
  return request(metricsPort, '/metrics', accept ? { headers: { accept } } : {});
}

/** The value of one series in exposition text, e.g. sample(text, 'x_total', { a: 'b' }). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = parseLabels(m[3] ?? '');
    // A subset match: the first series whose labels include all of `labels`.
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/** Sum of every series of `name` whose labels include `labels`. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = parseLabels(m[3] ?? '');
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[4]);
  }
  return total;
}

export function parseLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * http_server_requests_total summed by route (no route: '(none)'); with `withStatus`, keyed
 * `<route> <status>`. Exact counts per route are what the framework route tests compare.
 */
export function routeCounts(text: string, withStatus = false): Record<string, number> {
  const out: Record<string, number> = {};
  // Label values may hold braces (hapi's `/users/{id}`): match quoted values whole.
  for (const m of text.matchAll(/^http_server_requests_total\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\} (\S+)$/gm)) {
    const labels = parseLabels(m[1]!);
    let key = labels.http_route ?? '(none)';
    if (withStatus) key += ` ${labels.http_response_status_code ?? '-'}`;
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}
