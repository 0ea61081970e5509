// Spawning the servers under test and reading what they expose: free ports, "listening" line,
// /metrics scrapes, resident memory. Servers are spawned as `node` directly (no shell, no npm), so
// the pid we hold is the server's own and /proc/<pid>/status is its memory.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

/** A loopback port that was free a moment ago. */
export async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * The environment a server runs with: the caller's, minus anything that would change what is
 * measured (a NODE_OPTIONS preload, OTEL_* / MON_* settings), plus `extra`.
 */
export function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('OTEL_') || key.startsWith('MON_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Spawns `node <args>`; stdout and stderr are kept for error messages. */
export function spawnNode(args, { env, cwd }) {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  // 'close', not 'exit': by then stdout and stderr are complete too.
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Resolves once the server printed `listening <port>`; rejects if it exits or takes > timeoutMs. */
export function waitListening(proc, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no "listening" line after ${timeoutMs} ms`)), timeoutMs);
    const onData = () => {
      if (/^listening \d+$/m.test(proc.stdout())) done();
    };
    const onExit = (code, signal) => fail(new Error(`exited (${code ?? signal}) before listening`));
    function cleanup() {
      clearTimeout(timer);
      proc.child.stdout.off('data', onData);
      proc.child.off('exit', onExit);
    }
    function done() {
      cleanup();
      resolve();
    }
    function fail(error) {
      cleanup();
      error.message += `\nstderr:\n${proc.stderr()}`;
      reject(error);
    }
    proc.child.stdout.on('data', onData);
    proc.child.once('exit', onExit);
    onData();
  });
}

/** Resolves with the match of the first stdout line matching `re` written after `from` characters. */
export function waitForLine(proc, re, from, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = re.exec(proc.stdout().slice(from));
      if (!match) return;
      cleanup();
      resolve(match);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${re} on stdout after ${timeoutMs} ms; stderr:\n${proc.stderr()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      proc.child.stdout.off('data', check);
    };
    proc.child.stdout.on('data', check);
    check();
  });
}

/** Stops a server: SIGTERM, then SIGKILL if it is still there after 5 s. */
export async function stop(proc) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
  await proc.exited;
  clearTimeout(timer);
}

/** GET a loopback URL; resolves with { status, body }. A fresh connection each time (agent: false). */
export function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * GET a loopback URL through `agent` (keep-alive, as Prometheus scrapes) and time it on the client:
 * request sent to last byte received. Resolves with { ms, status, bytes, body }.
 */
export function timedGet(url, agent) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(url, { agent }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const buffer = Buffer.concat(chunks);
          resolve({ ms, status: res.statusCode, bytes: buffer.length, body: buffer.toString() });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/**
 * Sum of every sample of `name` in Prometheus text exposition (a counter's or a histogram
 * `_count`'s total over all label sets). Null if the name does not appear at all.
 */
export function sumSamples(text, name) {
  let sum = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== '{' && next !== ' ') continue;
    // The value follows the label set; label values may hold spaces, so cut after the last '}'.
    const rest = next === '{' ? line.slice(line.lastIndexOf('}') + 1) : line.slice(name.length);
    const value = Number(rest.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** Resident set size of a live process in bytes (Linux: VmRSS in /proc/<pid>/status). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
