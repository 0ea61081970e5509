// node-redis (`redis` 6.x, @redis/client lib/client/tracing.js; tested with 6.4.0) publishes its work on tracing
// channels: `node-redis:command` per command (context: command, upper-cased, args, database,
// serverAddress, serverPort, clientId), `node-redis:batch` per MULTI or pipeline (batchMode
// 'MULTI' | 'PIPELINE') and `node-redis:connect` per client.connect(). Older versions publish
// nothing, so nothing is counted.
//
// A pipeline's commands are published on `node-redis:command` as well, marked with the batch's
// batchMode: the batch is one operation (the conventions' rule for batches), so they are not
// counted again. A MULTI's are not published.
//
// The connection's handshake (HELLO, AUTH, CLIENT SETINFO…) goes to the command queue directly,
// unpublished: it is part of the connect's time only.
//
// A client pool (createClientPool) publishes each wait for a client as a point event,
// `node-redis:pool:connection-wait` (clientId, waitStartTimestamp from performance.now()), when
// the wait ends; the client's server comes from `node-redis:connection:ready` (clientId,
// serverAddress, serverPort), published whenever a client gets ready.
import { subscribe, unsubscribe } from '../channels.js';
import { CREATE, OPERATION, REDIS, WAIT, type DbMetrics, type Target } from './db-metrics.js';
import { redisOperation } from './redis-operation.js';
import type { TracedChannel } from './traced.js';

interface CommandContext {
  command?: unknown;
  batchMode?: unknown;
}

export const NODE_REDIS_CHANNELS: readonly TracedChannel[] = [
  {
    name: 'node-redis:command',
    family: 'redis',
    kind: OPERATION,
    operation: (context: CommandContext) => redisOperation(context.command),
    skip: (context: CommandContext) => context.batchMode !== undefined,
  },
  {
    name: 'node-redis:batch',
    family: 'redis',
    kind: OPERATION,
    operation: (context: CommandContext) => redisOperation(context.batchMode),
  },
  { name: 'node-redis:connect', family: 'redis', kind: CREATE },
];

/** Clients whose server is remembered for their pools' waits; past it the oldest are forgotten. */
const MAX_CLIENTS = 1000;

interface ClientEvent {
  clientId?: unknown;
  serverAddress?: unknown;
  serverPort?: unknown;
  waitStartTimestamp?: unknown;
}

/** Times node-redis pools' waits for a client (db.client.connection.wait_time); returns the function that stops. */
export function instrumentNodeRedisPools(metrics: DbMetrics): () => void {
  // clientId -> its server: set when it gets ready, dropped when it closes, at most MAX_CLIENTS.
  const clients = new Map<unknown, Target>();
  const subscriptions: Array<[string, (message: unknown) => void]> = [
    [
      'node-redis:connection:ready',
      (message) => {
        if (typeof message !== 'object' || message === null) return;
        const { clientId, serverAddress, serverPort } = message as ClientEvent;
        if (clients.size >= MAX_CLIENTS && !clients.has(clientId)) clients.delete(clients.keys().next().value);
        clients.set(clientId, metrics.target(REDIS, serverAddress, serverPort));
      },
    ],
    [
      'node-redis:connection:closed',
      (message) => {
        if (typeof message === 'object' && message !== null) clients.delete((message as ClientEvent).clientId);
      },
    ],
    [
      'node-redis:pool:connection-wait',
      (message) => {
        if (typeof message !== 'object' || message === null) return;
        const { clientId, waitStartTimestamp } = message as ClientEvent;
        const target = clients.get(clientId);
        // A client never seen ready has no known server: no figure rather than a wrong one.
        if (target === undefined || typeof waitStartTimestamp !== 'number') return;
        // node-redis read performance.now(): so does this (loading perf_hooks, once, in apps that use it).
        const micros = Math.round((performance.now() - waitStartTimestamp) * 1000);
        metrics.record(WAIT, target, 0, 0, micros > 0 ? micros : 0);
      },
    ],
  ];
  for (const [name, handler] of subscriptions) subscribe(name, handler);
  return () => {
    for (const [name, handler] of subscriptions) unsubscribe(name, handler);
  };
}
