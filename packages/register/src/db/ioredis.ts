// ioredis (>= 6.1) publishes its work on tracing channels (built/tracing.js): `ioredis:command`
// per command written (context: command, args, database, serverAddress, serverPort),
// `ioredis:batch` per MULTI transaction (batchMode 'MULTI') and `ioredis:connect` per connect.
// A plain pipeline has no batch of its own: its commands count one by one. Older versions publish
// nothing, so nothing is counted.
//
// A MULTI batch writes its commands (MULTI, the queued ones, EXEC) synchronously between its own
// `start` and `end`, each on `ioredis:command` too: the batch is one operation (the conventions'
// rule for batches), so commands that start inside it are not counted again.
import dc from 'node:diagnostics_channel';
import { CREATE, OPERATION } from './db-metrics.js';
import { redisOperation, REDIS_CODES } from './redis-operation.js';
import type { TracedChannel } from './traced.js';

let batchDepth = 0;
const batchWindow = {
  start(): void {
    batchDepth++;
  },
  end(): void {
    batchDepth--;
  },
};

const MULTI = REDIS_CODES.get('MULTI')!;

export const IOREDIS_CHANNELS: readonly TracedChannel[] = [
  {
    name: 'ioredis:command',
    family: 'redis',
    kind: OPERATION,
    operation: (context: { command?: unknown }) => redisOperation(context.command),
    skip: () => batchDepth !== 0,
  },
  { name: 'ioredis:batch', family: 'redis', kind: OPERATION, operation: () => MULTI },
  { name: 'ioredis:connect', family: 'redis', kind: CREATE },
];

/** Tracks the batches' synchronous windows; returns the function that stops. */
export function trackIoredisBatches(): () => void {
  const channel = dc.tracingChannel('ioredis:batch');
  channel.subscribe(batchWindow as never);
  return () => channel.unsubscribe(batchWindow as never);
}
