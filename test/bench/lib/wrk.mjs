// The load generator: wrk (https://github.com/wg/wrk), a second process on loopback, one thread,
// keep-alive connections. Its own C event loop stays far below the Node servers' cost per request, so
// on a 2-core machine the server gets one core and wrk the other.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const STOP_AFTER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stop-after.lua');

const UNIT_MS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/**
 * Runs `wrk -t1 -c<connections> -d<seconds>s --latency <url>` and returns what it measured:
 * { rps, p50Ms, p99Ms, requests, errors: { connect, read, write, timeout }, non2xx, raw }.
 *
 * With `requests`, wrk stops after that many responses instead (lib/stop-after.lua; `seconds` is
 * then only a bound), and rps is requests over the wall time of the run. Its Lua callback per
 * response makes wrk slower, so such runs are for counting, not for throughput.
 */
export async function wrk(url, { seconds, connections, threads = 1, requests }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency'];
  if (requests !== undefined) args.push('-s', STOP_AFTER);
  args.push(url);
  const t0 = performance.now();
  const env = requests === undefined ? process.env : { ...process.env, WRK_REQUESTS: String(requests) };
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
    // stop-after.lua reached its count: end wrk's sleep (see there).
    if (requests !== undefined && err.includes('wrk-stop-after: done\n')) child.kill('SIGINT');
  });
  const code = await new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(error.code === 'ENOENT' ? new Error('wrk not found on PATH (Debian/Ubuntu: apt-get install wrk)') : error),
    );
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} exited ${code}:\n${out}${err}`);
  const result = parseWrk(out);
  if (requests !== undefined) result.rps = result.requests / ((performance.now() - t0) / 1000);
  return result;
}

/** Parses wrk's text report (wrk 4.x with --latency). */
export function parseWrk(text) {
  const rps = Number(/^Requests\/sec:\s+([\d.]+)/m.exec(text)?.[1]);
  const requests = Number(/^\s*(\d+) requests in /m.exec(text)?.[1]);
  const percentile = (p) => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)$`, 'm').exec(text);
    return match ? Number(match[1]) * UNIT_MS[match[2]] : NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = socket
    ? { connect: +socket[1], read: +socket[2], write: +socket[3], timeout: +socket[4] }
    : { connect: 0, read: 0, write: 0, timeout: 0 };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`cannot parse wrk output:\n${text}`);
  return { rps, p50Ms: percentile(50), p99Ms: percentile(99), requests, errors, non2xx, raw: text };
}

/** Socket errors and non-2xx responses of a run, as one short string, or '' when there were none. */
export function wrkProblems(result) {
  const parts = Object.entries(result.errors)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind} errors`);
  if (result.non2xx > 0) parts.push(`${result.non2xx} non-2xx responses`);
  return parts.join(', ');
}
