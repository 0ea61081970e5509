// Steady mixed traffic for the dashboard and live-page tests: a few keep-alive connections to
// an example app on loopback, bounded in time and in count, stopping by itself.
import http from 'node:http';

export interface Load {
  /** Resolves with the responses by status code once the load has stopped. */
  done: Promise<Record<string, number>>;
  stop: () => void;
}

/**
 * Requests `paths` in turn from `connections` loops until `ms` have passed (or 50,000 requests).
 * `{n}` in a path is replaced by a counter, so `/users/{n}` hits one route with changing paths.
 */
export function startLoad(port: number, paths: readonly string[], ms: number, connections = 4): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const byStatus: Record<string, number> = {};
  const until = Date.now() + ms;
  let stopped = false;
  let sent = 0;
  const get = (path: string): Promise<void> =>
    new Promise((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            const key = String(res.statusCode);
            byStatus[key] = (byStatus[key] ?? 0) + 1;
            resolve();
          });
        })
        .on('error', () => resolve());
    });
  const worker = async (offset: number): Promise<void> => {
    for (let i = offset; !stopped && Date.now() < until && sent < 50_000; i++) {
      sent++;
      await get(paths[i % paths.length]!.replace('{n}', String(i)));
    }
  };
  const done = Promise.all(Array.from({ length: connections }, (_, i) => worker(i))).then(() => {
    agent.destroy();
    return byStatus;
  });
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}
