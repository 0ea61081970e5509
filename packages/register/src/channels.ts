// The diagnostics channels mon watches, in one table, and the one way its code subscribes to them.
//
// Why a table: until mon is first needed, the preload watches the table's first-need channels
// with a placeholder (first-need.ts), and nothing else of mon is loaded. The placeholder's first
// event loads the recorders, which subscribe here, and hands them that event (replay): the first
// request, listen, call or framework is counted as if they had been there from the start.
// test/channels.test.ts checks that every channel the recorders subscribe to when mon starts is
// in the table, and that each of the others follows a first-need channel.
import dc from 'node:diagnostics_channel';

type Handler = (message: unknown, name: string | symbol) => void;

/** The events of a tracing channel, `tracing:<name>:<event>`. */
const TRACING_EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
type TracingHandlers = Partial<Record<(typeof TRACING_EVENTS)[number], Handler>>;

/**
 * Node publishes `tracing:module.require:end` at every require(); only these are a first need:
 * the specifier, and how the requiring file's path ends (frameworks/koa.ts, hapi.ts).
 */
export const MODULE_REQUIRE_END = 'tracing:module.require:end';
export const WATCHED_REQUIRES: ReadonlyMap<string, string> = new Map([
  ['./context', '/koa/lib/application.js'],
  ['./request', '/@hapi/hapi/lib/core.js'],
]);

/** Whether a `tracing:module.require:end` message is one of WATCHED_REQUIRES (either path separator). */
export function isWatchedRequire(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const { id, parentFilename } = message as { id?: unknown; parentFilename?: unknown };
  const parent = WATCHED_REQUIRES.get(id as string);
  return parent !== undefined && typeof parentFilename === 'string' && parentFilename.replaceAll('\\', '/').endsWith(parent);
}

/** The pseudo-channel of the process's 'worker' event (a worker thread started: worker-http.ts). */
export const WORKER_EVENT = 'process:worker';

/**
 * The channels whose event can be mon's first need: the preload watches these, and no others,
 * until then (first-need.ts). Each starts something (a request, a stream, a call, a database
 * operation, a connection) or is a first need by itself (a listen, a framework, a child process).
 */
export const FIRST_NEED_CHANNELS: readonly string[] = [
  // HTTP servers (http-server.ts), HTTP/2 and gRPC (http2/server.ts, Node 22.18+ and 24.3+).
  'http.server.request.start',
  'http2.server.stream.start',
  // A server starts listening: Express's request prototype (frameworks/express.ts), HTTP/2 on Node 20 (http2/node20.ts).
  'tracing:net.server.listen:asyncStart',
  // Frameworks (frameworks/*.ts).
  'fastify.initialization',
  'tracing:h3.request:start',
  'mon:http:route',
  MODULE_REQUIRE_END,
  // HTTP clients (http-client.ts, http2/client.ts).
  'undici:request:create',
  'http.client.request.start',
  'http2.client.stream.created',
  // Databases (db/*.ts).
  'tracing:mysql2:query:start',
  'tracing:mysql2:execute:start',
  'tracing:mysql2:connect:start',
  'tracing:mysql2:pool:connect:start',
  'tracing:ioredis:command:start',
  'tracing:ioredis:batch:start',
  'tracing:ioredis:connect:start',
  'tracing:node-redis:command:start',
  'tracing:node-redis:batch:start',
  'tracing:node-redis:connect:start',
  'node-redis:connection:ready',
  // Child processes: a cluster primary's workers (cluster/early-children.ts).
  'child_process',
];

/**
 * The rest of what mon subscribes to, each with the first-need channel it follows. mon's handlers
 * on these act only on what its handler on that channel recorded (the request, stream, call,
 * operation or connection it saw start: a WeakMap entry, a connection's list, a client id) and
 * drop anything else; before mon's first need there is no such record, so an event here could
 * only ever be dropped, and the preload need not watch them. Why: each placeholder subscription
 * costs the preload ~10-20 k instructions, and more than ~10 calls make V8 compile
 * diagnostics_channel's subscribe path with Sparkplug (test/bench/RESULTS.md, "Start-up
 * instructions"). A function, not a constant: the preload never builds it.
 */
export function followers(): Record<string, string> {
  return {
    'http.server.response.finish': 'http.server.request.start',
    'http2.server.stream.close': 'http2.server.stream.start',
    'undici:request:headers': 'undici:request:create',
    'undici:request:trailers': 'undici:request:create',
    'undici:request:error': 'undici:request:create',
    'http.client.response.finish': 'http.client.request.start',
    'http.client.request.error': 'http.client.request.start',
    'http2.client.stream.finish': 'http2.client.stream.created',
    'http2.client.stream.error': 'http2.client.stream.created',
    'http2.client.stream.close': 'http2.client.stream.created',
    ...tracingFollowers(['mysql2:query', 'mysql2:execute', 'mysql2:connect', 'mysql2:pool:connect']),
    ...tracingFollowers(['ioredis:command', 'ioredis:batch', 'ioredis:connect']),
    ...tracingFollowers(['node-redis:command', 'node-redis:batch', 'node-redis:connect']),
    'node-redis:connection:closed': 'node-redis:connection:ready',
    'node-redis:pool:connection-wait': 'node-redis:connection:ready',
  };
}

/** A database's tracing channel: `end` and `asyncStart` end what `start` timed (db/traced.ts). */
function tracingFollowers(names: string[]): Record<string, string> {
  const followed: Record<string, string> = {};
  for (const name of names) {
    followed[`tracing:${name}:end`] = `tracing:${name}:start`;
    followed[`tracing:${name}:asyncStart`] = `tracing:${name}:start`;
  }
  return followed;
}

/** Every channel a recorder or route source subscribes to when mon starts (start.ts `watch`, worker-http.ts). */
export function watchedChannels(): string[] {
  return [...FIRST_NEED_CHANNELS, ...Object.keys(followers())];
}

/** mon's own handlers by channel: what replay() hands a first event to. */
const subscribed = new Map<string, Set<Handler>>();

function track(name: string, handler: Handler): void {
  let handlers = subscribed.get(name);
  if (handlers === undefined) subscribed.set(name, (handlers = new Set()));
  handlers.add(handler);
}

export function subscribe(name: string, handler: Handler): void {
  dc.subscribe(name, handler);
  track(name, handler);
}

export function unsubscribe(name: string, handler: Handler): void {
  dc.unsubscribe(name, handler);
  subscribed.get(name)?.delete(handler);
}

/**
 * `dc.tracingChannel(name).subscribe(handlers)`, one channel at a time: dc.subscribe also keeps
 * each channel alive (Node 20 holds channels weakly, and TracingChannel.subscribe does not).
 */
export function subscribeTracing(name: string, handlers: TracingHandlers): void {
  for (const event of TRACING_EVENTS) {
    const handler = handlers[event];
    if (handler !== undefined) subscribe(`tracing:${name}:${event}`, handler);
  }
}

export function unsubscribeTracing(name: string, handlers: TracingHandlers): void {
  for (const event of TRACING_EVENTS) {
    const handler = handlers[event];
    if (handler !== undefined) unsubscribe(`tracing:${name}:${event}`, handler);
  }
}

/** `process.on('worker', handler)`, kept for replay under WORKER_EVENT. */
export function onWorkerThread(handler: (worker: unknown) => void): () => void {
  process.on('worker', handler);
  track(WORKER_EVENT, handler);
  return () => {
    process.off('worker', handler);
    subscribed.get(WORKER_EVENT)?.delete(handler);
  };
}

/** The channels mon's handlers are on now (test/channels.test.ts). */
export function subscribedChannels(): string[] {
  return [...subscribed].filter(([, handlers]) => handlers.size > 0).map(([name]) => name);
}

/**
 * Hands an event published before mon's handlers existed to those on its channel now. Node calls
 * the subscribers a publish found when it began (its list is copied on subscribe, Node 20-26), so
 * no handler gets the event twice.
 */
export function replay(name: string, message: unknown): void {
  for (const handler of [...(subscribed.get(name) ?? [])]) handler(message, name);
}
