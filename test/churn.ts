// Churn for the cluster tests: connection-per-request load (each request on a new connection, as
// real clients do; node:cluster then hands a handle to a worker per request) and workers SIGKILLed
// one after another while it runs.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { sleep } from './helpers.js';

/** The pids of a process's children (Linux: /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface ConnectionLoad {
  /** Responses completed with status 200. */
  ok: () => number;
  /** Requests that failed (a connection handed to a worker as it died). */
  failed: () => number;
  stop: () => Promise<void>;
}

/** `loops` loops, each sending GET `path` on a new connection (`Connection: close`) as soon as the last one ended. */
export function connectionPerRequestLoad(port: number, loops = 4, path = '/'): ConnectionLoad {
  let ok = 0;
  let failed = 0;
  let stopped = false;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failed++;
          resolve();
        });
        res.on('error', () => {
          failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  const loop = async (): Promise<void> => {
    while (!stopped) await once();
  };
  const running = Promise.all(Array.from({ length: loops }, loop));
  return {
    ok: () => ok,
    failed: () => failed,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** SIGKILLs one child of `primaryPid` every `everyMs`, `kills` times; resolves with how many it killed. */
export async function killWorkers(primaryPid: number, kills: number, everyMs: number): Promise<number> {
  let killed = 0;
  for (let i = 0; i < kills; i++) {
    await sleep(everyMs);
    const pids = childPids(primaryPid);
    if (pids.length === 0) continue;
    try {
      process.kill(pids[i % pids.length]!, 'SIGKILL');
      killed++;
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}
