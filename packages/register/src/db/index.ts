// Database and cache calls, from the drivers' own tracing channels: no patching, ESM or CJS alike.
// One file per driver family says which channels it publishes and how to read them; traced.ts
// times them; db-metrics.ts keeps the series.
import type { DbMetrics } from './db-metrics.js';
import { IOREDIS_CHANNELS, trackIoredisBatches } from './ioredis.js';
import { MYSQL2_CHANNELS } from './mysql2.js';
import { instrumentNodeRedisPools, NODE_REDIS_CHANNELS } from './node-redis.js';
import { subscribeTraced } from './traced.js';

export { DbMetrics, DB_INSTRUMENTS } from './db-metrics.js';
export type { DbMetricsOptions } from './db-metrics.js';

/** Subscribes once; returns the function that unsubscribes. */
export function instrumentDatabases(metrics: DbMetrics): () => void {
  const stops = [trackIoredisBatches(), instrumentNodeRedisPools(metrics)];
  for (const spec of [...MYSQL2_CHANNELS, ...IOREDIS_CHANNELS, ...NODE_REDIS_CHANNELS]) stops.push(subscribeTraced(metrics, spec));
  return () => {
    for (const stop of stops) stop();
  };
}
