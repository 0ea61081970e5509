// node-redis (`redis` >= 6.4, @redis/client lib/client/tracing.js) publishes its work on tracing
// channels: `node-redis:command` per command (context: command, upper-cased, args, database,
// serverAddress, serverPort, clientId), `node-redis:batch` per MULTI or pipeline (batchMode
// 'MULTI' | 'PIPELINE') and `node-redis:connect` per client.connect(). Older versions publish
// nothing, so nothing is counted.
//
// A pipeline's commands are published on `node-redis:command` as well, marked with the batch's
// batchMode: the batch is one operation (the conventions' rule for batches), so they are not
// counted again. A MULTI's are not published.
//
// client.connect() sends the connection's handshake (HELLO, CLIENT SETINFO, AUTH, SELECT) on
// `node-redis:command` too, inside the connect: those are the connection's creation time, not
// the app's operations (CLIENT SETINFO fails on Redis < 7.2, and node-redis ignores that), so
// commands of a client that is connecting are not counted.
import dc from 'node:diagnostics_channel';
import { CREATE, OPERATION } from './db-metrics.js';
import { redisOperation } from './redis-operation.js';
import type { TracedChannel } from './traced.js';

interface CommandContext {
  command?: unknown;
  batchMode?: unknown;
  clientId?: unknown;
  error?: unknown;
}

/** clientIds inside client.connect(): as many as connects in flight. */
const connecting = new Set<unknown>();
const connectWindow = {
  start(context: CommandContext): void {
    connecting.add(context.clientId);
  },
  asyncStart(context: CommandContext): void {
    connecting.delete(context.clientId);
  },
  end(context: CommandContext): void {
    // A synchronous throw: no asyncStart follows.
    if (context.error !== undefined) connecting.delete(context.clientId);
  },
};

/** Tracks the clients that are connecting; returns the function that stops. */
export function trackNodeRedisConnects(): () => void {
  const channel = dc.tracingChannel('node-redis:connect');
  channel.subscribe(connectWindow as never);
  return () => channel.unsubscribe(connectWindow as never);
}

export const NODE_REDIS_CHANNELS: readonly TracedChannel[] = [
  {
    name: 'node-redis:command',
    family: 'redis',
    kind: OPERATION,
    operation: (context: CommandContext) => redisOperation(context.command),
    skip: (context: CommandContext) => context.batchMode !== undefined || (connecting.size !== 0 && connecting.has(context.clientId)),
  },
  {
    name: 'node-redis:batch',
    family: 'redis',
    kind: OPERATION,
    operation: (context: CommandContext) => redisOperation(context.batchMode),
  },
  { name: 'node-redis:connect', family: 'redis', kind: CREATE },
];
