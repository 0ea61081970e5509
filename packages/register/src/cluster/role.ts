// Which part this process plays in a cluster: the one place that decides it.
import { createRequire } from 'node:module';
import type { Pm2Instance } from '../config.js';

/**
 * - 'worker': forked by node:cluster; it binds no port and answers its primary over IPC (a primary
 *   without mon: it serves its own metrics after a while, see worker.ts).
 * - 'pm2-instance': forked by pm2's cluster mode, whose daemon is the primary and runs no mon: it
 *   serves its own metrics at once, on its own port (config.ts instancePort).
 * - 'primary': any other process; it may fork workers at any time, so it serves /metrics for them too.
 */
export type ClusterRole = 'primary' | 'worker' | 'pm2-instance';

export function clusterRole(pm2: Pm2Instance | undefined): ClusterRole {
  // Only a process with an IPC channel can be a worker. Asked first, it keeps node:cluster (with
  // child_process and dgram, ~12 M instructions on Node 24) unloaded in every other process; in a
  // worker, Node itself loaded node:cluster before the preload ran.
  if (typeof process.send !== 'function') return 'primary';
  const cluster = createRequire(import.meta.url)('node:cluster') as typeof import('node:cluster').default;
  if (!cluster.isWorker) return 'primary';
  return pm2?.clusterMode === true ? 'pm2-instance' : 'worker';
}
