// ioredis (since 5.11; tested with 6.1.0) publishes its work on tracing channels
// (built/tracing.js): `ioredis:command` per command written (context: command, args, database,
// serverAddress, serverPort), `ioredis:batch` per MULTI transaction (batchMode 'MULTI') and
// `ioredis:connect` per connect. A plain pipeline has no batch of its own: its commands count one
// by one. Older versions publish nothing, so nothing is counted.
//
// A MULTI batch writes its commands (MULTI, the queued ones, EXEC) synchronously between its own
// `start` and `end`, each on `ioredis:command` too: the batch is one operation (the conventions'
// rule for batches), so commands that start inside it are not counted again.
//
// On every connect ioredis sends its handshake (HELLO, AUTH, CLIENT SETINFO, CLIENT SETNAME,
// CLIENT MAINT_NOTIFICATIONS, then INFO as its ready check) on `ioredis:command` like any command,
// and its context says nothing of the connection. HELLO, AUTH and those CLIENT subcommands only
// configure a connection (CLIENT SETINFO fails on Redis < 7.2, which ioredis ignores): they are
// not counted as operations. The ready check's INFO is a real round trip an app may also make
// itself, so it counts.
import { subscribeTracing, unsubscribeTracing } from '../channels.js';
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

interface CommandContext {
  command?: unknown;
  args?: unknown;
}

/** The handshake's commands, as ioredis spells them (event_handler.js). */
function isConnectionSetup(context: CommandContext): boolean {
  const command = context.command;
  if (command === 'hello' || command === 'auth' || command === 'HELLO' || command === 'AUTH') return true;
  if (command !== 'client' && command !== 'CLIENT') return false;
  const sub = Array.isArray(context.args) ? (context.args[0] as unknown) : undefined;
  return sub === 'SETINFO' || sub === 'setinfo' || sub === 'SETNAME' || sub === 'setname' || sub === 'MAINT_NOTIFICATIONS';
}

export const IOREDIS_CHANNELS: readonly TracedChannel[] = [
  {
    name: 'ioredis:command',
    family: 'redis',
    kind: OPERATION,
    operation: (context: CommandContext) => redisOperation(context.command),
    skip: (context: CommandContext) => batchDepth !== 0 || isConnectionSetup(context),
  },
  { name: 'ioredis:batch', family: 'redis', kind: OPERATION, operation: () => MULTI },
  { name: 'ioredis:connect', family: 'redis', kind: CREATE },
];

/** Tracks the batches' synchronous windows; returns the function that stops. */
export function trackIoredisBatches(): () => void {
  subscribeTracing('ioredis:batch', batchWindow as never);
  return () => unsubscribeTracing('ioredis:batch', batchWindow as never);
}
