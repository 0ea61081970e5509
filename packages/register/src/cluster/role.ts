// Which part this process plays in a cluster: the one place that decides it.
import cluster from 'node:cluster';

/**
 * 'worker': forked by node:cluster; it binds no port and answers its primary over IPC.
 * 'primary': any other process; it may fork workers at any time, so it serves /metrics for them too.
 */
export type ClusterRole = 'primary' | 'worker';

export function clusterRole(): ClusterRole {
  return cluster.isWorker ? 'worker' : 'primary';
}

export const isClusterWorker: boolean = clusterRole() === 'worker';
