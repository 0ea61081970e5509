// The diagnostics channels mon watches, in one table, and the one way its code subscribes to them.
//
// Why a table: until mon is first needed, the preload watches every one of these channels with a
// placeholder (first-need.ts), and nothing else of mon is loaded. The placeholder's first event
// loads the recorders, which subscribe here, and hands them that event (replay): the first
// request, listen, call or framework is counted as if they had been there from the start.
// test/channels.test.ts checks that every channel the recorders subscribe to when mon starts is
// in the table.
import dc from 'node:diagnostics_channel';

type Handler = (message: unknown, name: string | symbol) => void;

/** The events of a tracing channel, `tracing:<name>:<event>`. */
const TRACING_EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
type TracingHandlers = Partial<Record<(typeof TRACING_EVENTS)[number], Handler>>;

const tracing = (names: string[], events: ReadonlyArray<(typeof TRACING_EVENTS)[number]>): string[] =>
  names.flatMap((name) => events.map((event) => `tracing:${name}:${event}`));

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

/** Every channel a recorder or route source subscribes to when mon starts (start.ts `watch`, worker-http.ts). */
export const WATCHED_CHANNELS: readonly string[] = [
  // HTTP servers (http-server.ts), HTTP/2 and gRPC (http2/server.ts, Node 22.18+ and 24.3+).
  'http.server.request.start',
  'http.server.response.finish',
  'http2.server.stream.start',
  'http2.server.stream.close',
  // A server starts listening: Express's request prototype (frameworks/express.ts), HTTP/2 on Node 20 (http2/node20.ts).
  'tracing:net.server.listen:asyncStart',
  // Frameworks (frameworks/*.ts).
  'fastify.initialization',
  'tracing:h3.request:start',
  'mon:http:route',
  MODULE_REQUIRE_END,
  // HTTP clients (http-client.ts, http2/client.ts).
  'undici:request:create',
  'undici:request:headers',
  'undici:request:trailers',
  'undici:request:error',
  'http.client.request.start',
  'http.client.response.finish',
  'http.client.request.error',
  'http2.client.stream.created',
  'http2.client.stream.finish',
  'http2.client.stream.error',
  'http2.client.stream.close',
  // Databases (db/*.ts).
  ...tracing(['mysql2:query', 'mysql2:execute', 'mysql2:connect', 'mysql2:pool:connect'], ['start', 'end', 'asyncStart']),
  ...tracing(['ioredis:command', 'ioredis:batch', 'ioredis:connect'], ['start', 'end', 'asyncStart']),
  ...tracing(['node-redis:command', 'node-redis:batch', 'node-redis:connect'], ['start', 'end', 'asyncStart']),
  'node-redis:connection:ready',
  'node-redis:connection:closed',
  'node-redis:pool:connection-wait',
  // Child processes: a cluster primary's workers (cluster/early-children.ts).
  'child_process',
];

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
