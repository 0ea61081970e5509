// Worker threads. Node hands `--import` (and NODE_OPTIONS) to every worker thread, so the preload
// runs again in each one: a second pipeline there found the port taken by the main thread (one
// "cannot serve /metrics" warning per thread at every start of an app using pino transports, which
// log from a worker thread) and paid for a MeterProvider, host sources and timers per thread.
//
// So a worker thread gets nothing of its own: no pipeline, no port, no host or runtime metrics,
// no timers, no warnings (the main thread said each once), and never loads the OpenTelemetry SDK.
// It does load the HTTP recorder and route sources (worker-http.ts), on first need as the main
// thread does (first-need.ts: a framework created or loaded, a server listening, a request), and
// synchronously, so the event that needed them is counted. Loaded at once, they cost each worker
// +1.5 MB of heap and +130 ms to its first message (test/bench/worker-thread.mjs, Node 20, loaded
// 2-core machine, medians of 20), against +2.3 MB and +260 ms for the whole pipeline it ran before;
// a worker that serves nothing (a test runner's, a logger's) no longer pays that.
import { createRequire } from 'node:module';

type WorkerThreads = typeof import('node:worker_threads');
/** Loaded only in a worker thread, or once the app starts one (see inWorkerThread for why). */
export const workerThreads = (): WorkerThreads => createRequire(import.meta.url)('node:worker_threads') as WorkerThreads;

// Parenthesized functions: compiled with the preload, which runs them in every process (first-need.ts).
/**
 * Whether this is a worker thread. Node replaces process.abort in worker threads with a function
 * named `unavailableInWorker` (Node 20 to 26): reading a name costs nothing, while
 * `worker_threads.isMainThread`, the documented answer, loads node:stream and more (~7 ms on the
 * loaded 2-core machine) in every process that inherits NODE_OPTIONS. So the name is a hint, and
 * the documented answer confirms it, only in threads that are not obviously the main one.
 */
export const inWorkerThread = (function inWorkerThread(): boolean {
  if (process.abort.name === 'abort') return false;
  try {
    return !workerThreads().isMainThread;
  } catch {
    return false;
  }
});
