// HTTP servers in worker threads (worker-thread.ts says what else a worker gets: nothing).
// Diagnostics channels are per thread, so a worker records its own requests (the same recorder and
// route sources as the main thread) and posts each finished one to the main thread on a
// BroadcastChannel, where it is counted with the main thread's own. Requests in flight in a worker
// are not in http.server.active_requests: a thread ending with requests in flight would leave them
// counted forever. Posting costs one structured clone per request, in the worker.
import { onWorkerThread } from './channels.js';
import { loadConfig } from './config.js';
import { SLOTS, type HttpServerMetrics } from './http-server-metrics.js';
import { instrumentHttpServers, type HttpRecorder } from './http-server.js';
import { HTTP2_SERVER_CHANNELS } from './http2/node20.js';
import { instrumentHttp2Servers } from './http2/server.js';
import { createPathFilter, createRouteResolver } from './routes.js';
import { debug, muteWarnings } from './warn.js';
import { workerThreads } from './worker-thread.js';

/** The channel both sides open. */
export const WORKER_HTTP_CHANNEL = 'mon:http:worker-thread';
/** One finished request: slot, status, aborted, route, micros (requestEnded's arguments). */
type Ended = [number, number, boolean, string | undefined, number];

/** Worker side: what the preload does in a worker thread instead of starting a pipeline. */
/** Set once mon records in this worker thread: two copies (`-r` and `--import` together) record once. */
const STARTED = Symbol.for('mon.worker-thread');

export function startInWorkerThread(): void {
  const global = globalThis as typeof globalThis & { [STARTED]?: true };
  if (global[STARTED] === true) return;
  global[STARTED] = true;
  try {
    // The same environment as the main thread (unless the app gave the worker its own): whatever is
    // wrong in it, the main thread said once.
    muteWarnings();
    const config = loadConfig();
    if (config.disabled || !config.groups.has('http')) return;
    const options = config.http;
    const recorder = forwardingRecorder();
    const routes = createRouteResolver({ patterns: options.routePatterns, normalize: options.normalizePaths, maxRoutes: options.maxRoutes });
    instrumentHttpServers(recorder, options, routes);
    // HTTP/2 requests too (gRPC calls in a worker thread are not counted: docs/configuration.md).
    if (HTTP2_SERVER_CHANNELS) {
      instrumentHttp2Servers({ http: recorder, routes, ignored: options.ignorePaths ? createPathFilter(options.ignorePaths) : undefined });
    }
    debug('worker thread: HTTP requests are forwarded to the main thread');
  } catch (error) {
    debug('worker thread: could not record HTTP requests: %o', error);
  }
}

/** A recorder for http-server.ts that posts finished requests to the main thread. */
function forwardingRecorder(): HttpRecorder {
  let channel: import('node:worker_threads').BroadcastChannel | undefined;
  return {
    requestStarted: () => {},
    requestEnded: (slot, status, aborted, route, micros) => {
      if (channel === undefined) {
        channel = new (workerThreads().BroadcastChannel)(WORKER_HTTP_CHANNEL);
        // Never what keeps the worker alive.
        channel.unref();
      }
      const ended: Ended = [slot, status, aborted, route, micros];
      channel.postMessage(ended);
    },
  };
}

/**
 * Main side: counts what worker threads post. The channel opens when the app starts its first
 * worker thread (the process 'worker' event), so an app without workers pays nothing.
 */
export function receiveWorkerThreads(metrics: HttpServerMetrics): () => void {
  let channel: import('node:worker_threads').BroadcastChannel | undefined;
  const onMessage = (event: unknown): void => {
    const ended = (event as { data?: unknown }).data as Ended;
    // Messages come from mon in this process's own threads; the shape is still checked, never trusted to throw.
    if (!Array.isArray(ended) || ended.length !== 5) return;
    const [slot, status, aborted, route, micros] = ended;
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS || !Number.isInteger(status) || typeof micros !== 'number' || (route !== undefined && typeof route !== 'string')) return;
    // requestEnded takes one request off the in-flight count the worker never added to.
    metrics.requestStarted(slot);
    metrics.requestEnded(slot, status, aborted === true, route, micros);
  };
  const onWorker = (): void => {
    if (channel !== undefined) return;
    channel = new (workerThreads().BroadcastChannel)(WORKER_HTTP_CHANNEL);
    channel.unref();
    channel.onmessage = onMessage;
  };
  const stop = onWorkerThread(onWorker);
  return () => {
    stop();
    channel?.close();
  };
}
