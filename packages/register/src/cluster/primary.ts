// The primary's side: one producer for /metrics that collects this process and asks every worker.
import type { ChildProcess } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import type { HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  type CollectionResult,
  type MetricCollectOptions,
  type MetricProducer,
  type MetricReader,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { debug, describe } from '../warn.js';
import { ClusterMerge, PRIMARY, type Contribution } from './merge.js';
import { OnDemandReader, OWN_COLLECT_TIMEOUT_MS } from './on-demand-reader.js';
import { isPeeking } from './peek.js';
import { isOurs, PEEK, PROTOCOL, SCRAPE, send, type Kind } from './protocol.js';
import { CHILD_PROCESS_CHANNEL, type EarlyChildren } from './early-children.js';
import { decodeScopes } from './wire.js';

/** A scrape waits at most this long for the workers; a late one counts with its last known values. */
export const COLLECT_TIMEOUT_MS = 1_000;
/**
 * How long a worker that exited may still deliver messages (they can wait in the pipe behind its
 * 'exit') before its totals are final, if its channel's 'disconnect' does not come first.
 */
export const EXIT_GRACE_MS = 1_000;

interface WorkerState {
  readonly child: ChildProcess;
  readonly slot: number;
  /** The newest SDK snapshot answering each kind: a scrape never shows a peek's intervals. */
  sdk: [string | undefined, string | undefined];
  sdkSeq: [number, number];
  errors: Error[];
  produced: string | undefined;
  producedSeq: number;
  /** Collect requests waiting for this worker's answer, by id. */
  readonly waiting: Map<number, () => void>;
  /** It let a scrape time out and has not answered since: later scrapes do not wait for it. */
  late: boolean;
  /** Its process has exited: it holds no slot, is asked nothing, and only its totals count. */
  exited: boolean;
}

export interface ClusterPrimaryOptions {
  timeoutMillis?: number;
  /** EXIT_GRACE_MS (tests). */
  exitGraceMillis?: number;
  /** The children started before this primary existed, and what they said (early-children.ts). */
  earlyChildren?: EarlyChildren;
}

/**
 * The producer behind the primary's /metrics: this process (read by `self`) and its workers.
 * Collections are never on a timer: a scrape asks, and workers push only their cheap
 * pre-aggregated metrics. (Window figures, event loop delay and CPU utilization, are fixed in time
 * in every process, @mon/host windows.ts: who asks, and when, changes none of them.)
 */
export class ClusterPrimary implements MetricProducer {
  readonly #self: MetricReader;
  readonly #timeoutMillis: number;
  readonly #exitGraceMillis: number;
  readonly #earlyChildren: EarlyChildren | undefined;
  readonly #merge = new ClusterMerge();
  readonly #workers = new Map<ChildProcess, WorkerState>();
  /** slot -> worker; a slot frees when its worker exits and the next worker takes the lowest free one. */
  readonly #slots: Array<WorkerState | undefined> = [];
  #nextId = 0;
  /** Set by the first worker: from then on the process's own per-process series are labelled too. */
  #clustered = false;

  constructor(self: MetricReader, options: ClusterPrimaryOptions = {}) {
    this.#self = self;
    this.#timeoutMillis = options.timeoutMillis ?? COLLECT_TIMEOUT_MS;
    this.#exitGraceMillis = options.exitGraceMillis ?? EXIT_GRACE_MS;
    this.#earlyChildren = options.earlyChildren;
  }

  /**
   * Watches every child process this one starts, from Node's `child_process` channel (Node 16.18+),
   * not node:cluster's 'fork' event: loading node:cluster (with child_process and dgram) costs
   * ~12 M instructions of start-up on Node 24 in every app, and most never fork. Only cluster
   * workers running mon say hello; any other child costs three listeners until it exits.
   * Returns the function that stops watching.
   */
  start(): () => void {
    const onChild = (message: unknown): void => this.watch((message as { process: ChildProcess }).process);
    // Handed over and subscribed in one go: no child is missed in between.
    for (const { child, messages } of this.#earlyChildren?.take() ?? []) {
      this.watch(child);
      for (const message of messages) this.#onMessage(child, message);
    }
    dc.subscribe(CHILD_PROCESS_CHANNEL, onChild);
    return () => dc.unsubscribe(CHILD_PROCESS_CHANNEL, onChild);
  }

  /** Listens to one worker's channel (exported for tests: any IPC child works). */
  watch(child: ChildProcess): void {
    const onMessage = (message: unknown) => this.#onMessage(child, message);
    let grace: NodeJS.Timeout | undefined;
    const retire = (): void => {
      clearTimeout(grace);
      child.removeListener('internalMessage', onMessage);
      child.removeListener('exit', onExit);
      child.removeListener('disconnect', retire);
      this.#retire(child);
    };
    // 'exit' frees the worker's slot at once and no scrape waits for it again, but its last
    // messages may still wait in the pipe: its totals are final at 'disconnect', which comes once
    // the channel is read to its end (or when a worker disconnects gracefully). 'disconnect' may
    // never come: node:cluster defers it while a connection handle sent to the worker awaits the
    // worker's ack, which a SIGKILLed worker never sends. So: 'disconnect' or EXIT_GRACE_MS after
    // 'exit', whichever comes first (node:cluster itself treats 'exit' as the end).
    const onExit = (): void => {
      this.#exited(child);
      // unref: a worker's leftovers must not keep the primary alive.
      grace = setTimeout(retire, this.#exitGraceMillis);
      grace.unref();
    };
    child.on('internalMessage', onMessage);
    child.once('exit', onExit);
    child.once('disconnect', retire);
  }

  /** Live workers that said hello. */
  get workerCount(): number {
    return this.#slots.filter((state) => state !== undefined).length;
  }

  async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    const kind: Kind = isPeeking() ? PEEK : SCRAPE;
    const [own] = await Promise.all([
      this.#self.collect({ timeoutMillis: options?.timeoutMillis ?? OWN_COLLECT_TIMEOUT_MS }),
      this.#askWorkers(kind),
    ]);
    // No worker ever: this process's collection, untouched (a plain app's /metrics is unchanged).
    if (!this.#clustered) return own;
    const now = hrTime();
    const contributions: Contribution[] = [{ label: PRIMARY, scopes: own.resourceMetrics.scopeMetrics }];
    const errors = [...own.errors];
    // Live workers in slot order (a stable exposition), then those that exited.
    const live = this.#slots.filter((state) => state !== undefined);
    for (const state of [...live, ...[...this.#workers.values()].filter((w) => w.exited)]) {
      const scopes = this.#decode(state, now, kind);
      // An exited worker's totals until they are final; its slot may already be someone else's.
      if (scopes.length > 0) contributions.push({ label: String(state.slot), scopes, ...(state.exited ? { totalsOnly: true } : {}) });
      if (!state.exited) errors.push(...state.errors);
    }
    return { resourceMetrics: { resource: own.resourceMetrics.resource, scopeMetrics: this.#merge.merge(contributions, now) }, errors };
  }

  /** A worker's metrics: its snapshot for `kind` (the other one while it has none yet) and its pushes. */
  #decode(state: WorkerState, now: HrTime, kind: Kind): ScopeMetrics[] {
    const scopes: ScopeMetrics[] = [];
    for (const json of [state.sdk[kind] ?? state.sdk[1 - kind], state.produced]) {
      if (json === undefined) continue;
      try {
        scopes.push(...decodeScopes(json, now));
      } catch (error) {
        debug('cluster: unreadable metrics from worker %d: %s', state.slot, describe(error));
      }
    }
    return scopes;
  }

  #onMessage(child: ChildProcess, message: unknown): void {
    if (!isOurs(message)) return;
    if (message.type === 'hello') {
      if (message.version !== PROTOCOL) {
        debug('cluster: worker pid %d speaks protocol %s, not %d; not aggregated', child.pid, message.version, PROTOCOL);
        return;
      }
      if (this.#workers.has(child)) return;
      let slot = this.#slots.indexOf(undefined);
      if (slot === -1) slot = this.#slots.length;
      const state: WorkerState = {
        child,
        slot,
        sdk: [undefined, undefined],
        sdkSeq: [0, 0],
        errors: [],
        produced: undefined,
        producedSeq: 0,
        waiting: new Map(),
        late: false,
        exited: false,
      };
      this.#slots[slot] = state;
      this.#workers.set(child, state);
      this.#clustered = true;
      debug('cluster: worker pid %d joined as slot %d', child.pid, slot);
      send(child, { type: 'welcome', version: PROTOCOL });
      return;
    }
    if (message.type !== 'metrics') return;
    const state = this.#workers.get(child);
    if (state === undefined) return;
    // Sequence numbers, because a push can overtake an answer that was collecting meanwhile.
    const kind: Kind = message.peek === true ? PEEK : SCRAPE;
    if (typeof message.sdk === 'string' && (message.sdkSeq ?? 0) > state.sdkSeq[kind]) {
      state.sdk[kind] = message.sdk;
      state.sdkSeq[kind] = message.sdkSeq!;
      state.errors = (message.errors ?? []).map(({ name, message }) => Object.assign(new Error(message), { name }));
    }
    if (typeof message.produced === 'string' && (message.producedSeq ?? 0) > state.producedSeq) {
      state.produced = message.produced;
      state.producedSeq = message.producedSeq!;
    }
    if (message.ids !== undefined) state.late = false;
    for (const id of message.ids ?? []) state.waiting.get(id)?.();
  }

  /** A worker's process exited: its slot is free, and scrapes waiting for it answer now. */
  #exited(child: ChildProcess): void {
    const state = this.#workers.get(child);
    if (state === undefined || state.exited) return;
    state.exited = true;
    if (this.#slots[state.slot] === state) this.#slots[state.slot] = undefined;
    // Drop trailing free slots so that `slots.length` stays the peak of live workers, not history.
    while (this.#slots.length > 0 && this.#slots[this.#slots.length - 1] === undefined) this.#slots.length--;
    debug('cluster: worker pid %d (slot %d) exited', child.pid, state.slot);
    for (const resolve of state.waiting.values()) resolve();
    state.waiting.clear();
  }

  /** A worker can send nothing more: its last totals join the retired sum. */
  #retire(child: ChildProcess): void {
    this.#exited(child);
    const state = this.#workers.get(child);
    if (state === undefined) return;
    this.#workers.delete(child);
    // Its totals from the newer of its two snapshots (both count from the worker's start).
    this.#merge.retire(this.#decode(state, hrTime(), state.sdkSeq[PEEK] > state.sdkSeq[SCRAPE] ? PEEK : SCRAPE));
    debug('cluster: worker pid %d (slot %d) left; its totals are kept', child.pid, state.slot);
  }

  /**
   * Asks every live worker for its metrics; resolves when all answered, or after the timeout. A
   * worker still silent since it let an earlier scrape time out (a blocked event loop) is asked
   * but not waited for: one scrape pays the timeout, not every scrape while the worker is stuck.
   */
  #askWorkers(kind: Kind): Promise<void> {
    const asked = [...this.#workers.values()].filter((state) => !state.exited);
    if (asked.length === 0) return Promise.resolve();
    const id = ++this.#nextId;
    const request = { type: 'collect', id, ...(kind === PEEK ? { peek: true } : {}) } as const;
    const awaited = asked.filter((state) => !state.late);
    for (const state of asked) if (state.late) send(state.child, request);
    if (awaited.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = awaited.length;
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const state of awaited) state.waiting.delete(id);
        resolve();
      };
      const answered = (): void => {
        if (--left === 0) finish();
      };
      // unref: a scrape in progress must not keep the primary alive.
      const timer = setTimeout(() => {
        for (const state of awaited) if (state.waiting.has(id)) state.late = true;
        debug('cluster: %d of %d workers did not answer within %d ms; using their last values', left, awaited.length, this.#timeoutMillis);
        finish();
      }, this.#timeoutMillis);
      timer.unref();
      for (const state of awaited) {
        state.waiting.set(id, answered);
        if (!send(state.child, request)) answered();
      }
    });
  }
}

/**
 * The reader for a non-worker process's MeterProvider when Prometheus is on: it reads the process
 * itself for ClusterPrimary, and the Prometheus reader made by `serve` sits on a MeterProvider of
 * its own (no instruments, same resource) whose only source is ClusterPrimary. Shutting this
 * reader down shuts that one down too.
 */
export function clusterPrimaryReader(
  producers: MetricProducer[],
  resource: Resource,
  serve: (producer: MetricProducer) => MetricReader | Promise<MetricReader>,
  options: ClusterPrimaryOptions = {},
): MetricReader {
  let stop = (): void => {};
  let serving: MeterProvider | undefined;
  let shutDown = false;
  const self = new OnDemandReader({
    metricProducers: producers,
    onShutdown: async () => {
      shutDown = true;
      stop();
      await serving?.shutdown();
    },
  });
  const primary = new ClusterPrimary(self, options);
  stop = primary.start();
  // `serve` may settle later (the endpoint opens after the app's start-up): collecting needs only `self`.
  const provide = (reader: MetricReader): void => {
    serving = new MeterProvider({ resource, readers: [reader] });
    if (shutDown) void serving.shutdown();
  };
  const reader = serve(primary);
  if (reader instanceof Promise) reader.then(provide, (error: unknown) => debug('cluster: serving failed: %s', describe(error)));
  else provide(reader);
  return self;
}
