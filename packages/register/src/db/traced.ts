// A driver's tracing channel (diagnostics_channel.tracingChannel) turned into timed operations.
// A traced call publishes `start`, then on an answer `asyncStart`/`asyncEnd` (with `error` before
// them on a failure), or, when it throws synchronously, `error` then `end`. The time runs from
// `start` to `asyncStart`: that is when the caller gets its answer, by promise or callback alike
// (with traceCallback, `asyncEnd` comes only after the app's callback has run, which is not the
// database's time). A synchronous throw ends at `end`.
//
// The only per-call state is the start time, in a WeakMap keyed by the driver's context object,
// never on it (other subscribers, an APM, see that object too). The rest is read from the context
// at the end: its operation (the statement or command is still there) and its error (Node's
// tracePromise and traceCallback set context.error before publishing `error`).
import { subscribeTracing, unsubscribeTracing } from '../channels.js';
import { clock } from '../clock.js';
import { OPERATION, REDIS, type DbMetrics, type Kind, type System } from './db-metrics.js';

/** The fields mon reads from the drivers' contexts; each driver names its server the same way. */
export interface DriverContext {
  serverAddress?: unknown;
  serverPort?: unknown;
  error?: unknown;
  result?: unknown;
}


/** Which database a channel speaks to: Redis, or the MySQL protocol (mysql or mariadb, by server). */
export type Family = 'sql' | 'redis';

export interface TracedChannel {
  /** The tracing channel's name, e.g. `mysql2:query`. */
  name: string;
  family: Family;
  kind: Kind;
  /** db.operation.name's index, read at the end; OPERATION only. */
  operation?: (context: never) => number;
  /** True for a call that is part of another one (a batch's commands): not counted on its own. Read at `start`. */
  skip?: (context: never) => boolean;
  /** Looks at a successful answer before it is counted (mysql2's handshake names MariaDB). */
  answered?: (context: never, metrics: DbMetrics) => void;
}

type Handlers = {
  start: (context: object) => void;
  asyncStart: (context: object) => void;
  end: (context: object) => void;
};

/** Subscribes to one tracing channel; returns the function that unsubscribes. */
export function subscribeTraced(metrics: DbMetrics, spec: TracedChannel): () => void {
  /** context -> when the call started (clock.ts). */
  const calls = new WeakMap<object, number>();
  const { kind, family } = spec;
  const operation = spec.operation as ((context: object) => number) | undefined;
  const skip = spec.skip as ((context: object) => boolean) | undefined;
  const answered = spec.answered as ((context: object, metrics: DbMetrics) => void) | undefined;

  function finish(context: DriverContext, start: number): void {
    calls.delete(context);
    const micros = Math.round((clock() - start) * 1000);
    const address = context.serverAddress;
    const port = context.serverPort;
    const failed = context.error !== undefined;
    // Before the system is read: a successful mysql2 handshake is what says MariaDB.
    if (!failed && answered !== undefined) answered(context, metrics);
    const system: System = family === 'redis' ? REDIS : metrics.sqlSystem(address, port);
    const error = failed ? metrics.errorTypeOf(context.error, system) : 0;
    const name = kind === OPERATION && operation !== undefined ? operation(context) : 0;
    metrics.record(kind, metrics.target(system, address, port), name, error, micros > 0 ? micros : 0);
  }

  const handlers: Handlers = {
    start(context) {
      // A WeakMap key must be an object; a subscriber that throws would take the app down.
      if (typeof context !== 'object' || context === null || (skip !== undefined && skip(context))) return;
      calls.set(context, clock());
    },
    asyncStart(context) {
      const start = calls.get(context);
      if (start !== undefined) finish(context, start);
    },
    end(context) {
      // Only a synchronous throw has its error before `end`; an answer comes after it.
      if (typeof context !== 'object' || context === null || (context as DriverContext).error === undefined) return;
      const start = calls.get(context);
      if (start !== undefined) finish(context, start);
    },
  };
  subscribeTracing(spec.name, handlers as never);
  return () => unsubscribeTracing(spec.name, handlers as never);
}
