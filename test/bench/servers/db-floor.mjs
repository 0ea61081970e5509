// The database bench's floor (db.mjs): subscribes handlers that do nothing to the tracing channels
// mon subscribes to. A driver only builds its context objects (ioredis and node-redis also copy and
// sanitize the command's arguments) when a channel has subscribers, so this is what any subscriber
// costs; mon above it is what mon's own handlers cost.
import dc from 'node:diagnostics_channel';

const noop = () => {};
const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
const channels = ['mysql2:query', 'mysql2:execute', 'mysql2:connect', 'mysql2:pool:connect', 'ioredis:command', 'ioredis:batch', 'ioredis:connect', 'node-redis:command', 'node-redis:batch', 'node-redis:connect'].map((name) => dc.tracingChannel(name));
for (const channel of channels) channel.subscribe(handlers);
globalThis.__monBenchChannels = channels;
