// The worker's side: answers the primary's collect requests and pushes its HTTP metrics between scrapes.
import type { MetricProducer, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Peek } from '@mon/host';
import { MON_CLUSTER_NO_PRIMARY } from '@mon/warnings';
import { debug, describe, warn } from '../warn.js';
import { OnDemandReader, OWN_COLLECT_TIMEOUT_MS } from './on-demand-reader.js';
import { isOurs, PEEK, PROTOCOL, SCRAPE, send, type Kind, type Message } from './protocol.js';
import { encodeScopes } from './wire.js';

/**
 * How often a worker pushes its pre-aggregated (HTTP) metrics, which bounds what its death loses.
 * While they change: every PUSH_MIN_INTERVAL_MS to PUSH_MAX_INTERVAL_MS, as often as
 * PUSH_CPU_SHARE of a core allows; while they do not change: backing off to PUSH_MAX_INTERVAL_MS.
 * Either way never more often than that share allows: a push that costs more than
 * PUSH_MAX_INTERVAL_MS * PUSH_CPU_SHARE (2 ms) waits longer than PUSH_MAX_INTERVAL_MS, so the
 * share holds at any series count (finding that nothing changed costs a read too).
 * Measured (test/bench/cluster-push.mjs): ~1 ms of CPU with 20 series (so: every 0.5-1 s), 30-60 ms
 * with 2 000 (every 15-30 s, where a 1 s bound took 2-5 % of a core).
 * Measured on 2 cores, 2 workers at ~1 500 requests/s each, 8 worker deaths (SIGKILL or graceful
 * disconnect): a fixed 1 s interval lost ~1 150 requests per death, 250 ms ~300, this ~100-170.
 */
export const PUSH_MIN_INTERVAL_MS = 100;
export const PUSH_MAX_INTERVAL_MS = 1_000;
const PUSH_CPU_SHARE = 0.002;
/** A worker that hears nothing from a primary within this long says that nobody serves its metrics. */
const NO_PRIMARY_WARNING_MS = 5_000;

/**
 * The reader for a cluster worker's MeterProvider when Prometheus is on: no port; it answers the
 * primary. `producers` are pre-aggregated metrics (HTTP), read apart so they can be pushed cheaply.
 */
export function clusterWorkerReader(
  producers: MetricProducer[],
  channel: NodeJS.Process = process,
  options: {
    /** A fixed push interval instead of the adaptive one (tests). */
    pushIntervalMillis?: number;
    /**
     * When no primary answers (its process runs without mon, e.g. pm2's cluster mode): serve this
     * worker's own metrics instead, through the producer given. Returns where, for the warning.
     */
    serveAlone?: (producer: MetricProducer) => string;
    /** Runs a collection the primary asked for as a peek (register's `peek`). */
    peek?: Peek;
    /** Producers read with the SDK's metrics, at the primary's collect requests only (never pushed). */
    collected?: MetricProducer[];
  } = {},
): MetricReader {
  let stop = (): void => {};
  const reader = new OnDemandReader({ metricProducers: options.collected ?? [], onShutdown: async () => stop() });
  stop = startClusterWorker(reader, producers, channel, options.pushIntervalMillis, options.serveAlone, options.peek);
  return reader;
}

/** A worker's SDK metrics and its pre-aggregated ones, as one producer. */
function ownMetrics(reader: MetricReader, producers: MetricProducer[]): MetricProducer {
  return {
    collect: async () => {
      const [own, ...rest] = await Promise.all([reader.collect({ timeoutMillis: OWN_COLLECT_TIMEOUT_MS }), ...producers.map((p) => p.collect())]);
      return {
        resourceMetrics: {
          resource: own!.resourceMetrics.resource,
          scopeMetrics: own!.resourceMetrics.scopeMetrics.concat(rest.flatMap((r) => r.resourceMetrics.scopeMetrics)),
        },
        errors: own!.errors.concat(rest.flatMap((r) => r.errors)),
      };
    },
  };
}

function startClusterWorker(
  reader: MetricReader,
  producers: MetricProducer[],
  channel: NodeJS.Process,
  fixedInterval?: number,
  serveAlone?: (producer: MetricProducer) => string,
  peek: Peek = (collect) => collect(),
): () => void {
  /** Ids of the collect requests not answered yet, scrapes and peeks apart (a peek's answer must not stand for a scrape's). */
  const waiting: [number[], number[]] = [[], []];
  let collecting = false;
  let sdkSeq = 0;
  let producedSeq = 0;
  let lastProduced: string | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let pushInterval = fixedInterval ?? PUSH_MIN_INTERVAL_MS;
  let stopped = false;

  /**
   * The producers' metrics, encoded, and the CPU milliseconds spent on them: CPU time, not wall
   * time, which on a busy machine would count the time other processes had the core.
   */
  const readProduced = async (): Promise<{ seq: number; json: string; cost: number }> => {
    // Numbered when read, not when sent: the primary keeps the newest whatever the arrival order.
    const seq = ++producedSeq;
    let started = process.cpuUsage();
    const pending = Promise.all(producers.map((p) => p.collect()));
    let cost = cpuMillis(started);
    const results = await pending;
    started = process.cpuUsage();
    const json = encodeScopes(results.flatMap((r) => r.resourceMetrics.scopeMetrics));
    cost += cpuMillis(started);
    return { seq, json, cost };
  };

  /** Collects for the requests of one kind; then for those of the other that came meanwhile. */
  const answer = async (kind: Kind): Promise<void> => {
    collecting = true;
    let payload: Omit<Message, 'cmd' | 'type' | 'ids'> = {};
    try {
      const seq = ++sdkSeq;
      const collect = () => reader.collect({ timeoutMillis: OWN_COLLECT_TIMEOUT_MS });
      const { resourceMetrics, errors } = await (kind === PEEK ? peek(collect) : collect());
      if (errors.length > 0) debug('cluster: %d collection error(s): %o', errors.length, errors);
      const produced = await readProduced();
      lastProduced = produced.json;
      payload = {
        sdk: encodeScopes(resourceMetrics.scopeMetrics),
        sdkSeq: seq,
        // The primary's reader warns about them as about its own (once per cause).
        errors: errors.slice(0, MAX_FORWARDED_ERRORS).map(errorSummary),
        produced: produced.json,
        producedSeq: produced.seq,
      };
    } catch (error) {
      // Answer anyway (without data), so the primary does not wait for the timeout.
      debug('cluster: collection failed: %s', describe(error));
    }
    // Synchronous from here to the send: every request of this kind that arrived during the
    // collection is answered by it, and any later one starts a new collection.
    const ids = waiting[kind];
    waiting[kind] = [];
    collecting = false;
    send(channel, { type: 'metrics', ids, ...(kind === PEEK ? { peek: true } : {}), ...payload });
    const other: Kind = kind === PEEK ? SCRAPE : PEEK;
    if (waiting[other].length > 0) void answer(other);
  };

  /** Sends the producers' metrics if they changed. Returns whether they had, and the cost in ms. */
  const push = async (): Promise<{ changed: boolean; cost: number }> => {
    // An answer on its way carries fresher data.
    if (collecting) return { changed: true, cost: 0 };
    try {
      const produced = await readProduced();
      if (produced.json === lastProduced) return { changed: false, cost: produced.cost };
      lastProduced = produced.json;
      const started = process.cpuUsage();
      send(channel, { type: 'metrics', produced: produced.json, producedSeq: produced.seq });
      return { changed: true, cost: produced.cost + cpuMillis(started) };
    } catch (error) {
      debug('cluster: push failed: %s', describe(error));
      return { changed: true, cost: 0 };
    }
  };

  // Timers are unref'd: a worker's lifetime is its app's business (and cluster's, whose own IPC
  // listener keeps a worker alive until it disconnects).
  const schedulePush = (): void => {
    if (stopped) return;
    pushTimer = setTimeout(async () => {
      const { changed, cost } = await push();
      if (fixedInterval === undefined) pushInterval = nextPushInterval(pushInterval, changed, cost);
      debug('cluster: push %s, %d ms of CPU; next in %d ms', changed ? 'sent' : 'unchanged', cost, pushInterval);
      schedulePush();
    }, pushInterval);
    pushTimer.unref();
  };

  const noPrimary = setTimeout(() => {
    let where: string | undefined;
    try {
      where = serveAlone?.(ownMetrics(reader, producers));
    } catch (error) {
      debug('cluster: serving alone failed: %s', describe(error));
    }
    warn(
      MON_CLUSTER_NO_PRIMARY,
      where === undefined
        ? `this cluster worker's primary does not run mon, so nothing serves /metrics for it; start the primary with --import @mon/register (workers inherit it). The app runs on.`
        : `this cluster worker's primary does not run mon: each worker tries ${where} for its own metrics and the first one to bind it serves; start the primary with --import @mon/register (workers inherit it) for one endpoint for the whole cluster.`,
    );
  }, NO_PRIMARY_WARNING_MS);
  noPrimary.unref();

  const onMessage = (message: unknown): void => {
    if (!isOurs(message)) return;
    if (message.type === 'welcome') {
      clearTimeout(noPrimary);
      if (pushTimer === undefined && producers.length > 0) schedulePush();
    } else if (message.type === 'collect' && typeof message.id === 'number') {
      const kind: Kind = message.peek === true ? PEEK : SCRAPE;
      waiting[kind].push(message.id);
      // Requests of one kind that arrive during a collection for it share it.
      if (!collecting) void answer(kind);
    }
  };

  // 'internalMessage' is not 'message': it neither refs the channel nor shows up in the app's handlers.
  channel.on('internalMessage', onMessage);
  send(channel, { type: 'hello', version: PROTOCOL });
  return () => {
    channel.removeListener('internalMessage', onMessage);
    stopped = true;
    clearTimeout(noPrimary);
    clearTimeout(pushTimer);
  };
}

/**
 * The wait before the next push, after one that cost `cost` ms of CPU: whatever the changes, at
 * least what keeps pushing within PUSH_CPU_SHARE of a core.
 */
export function nextPushInterval(interval: number, changed: boolean, cost: number): number {
  const affordable = cost / PUSH_CPU_SHARE;
  const wanted = changed ? PUSH_MIN_INTERVAL_MS : Math.min(PUSH_MAX_INTERVAL_MS, interval * 2);
  return Math.max(wanted, affordable);
}

const MAX_FORWARDED_ERRORS = 20;

function errorSummary(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

function cpuMillis(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}
