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
import { CREATE, OPERATION } from './db-metrics.js';
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
