// What the preload leaves in a process until mon is first needed: one placeholder subscriber on
// each channel whose event can be a first need (channels.ts FIRST_NEED_CHANNELS), a listener for
// the first worker thread, a global MeterProvider that stands in for mon's, and an unref'd timer. The first of these to fire loads
// the rest of mon (main.ts: config, recorders, route sources) synchronously, with require() of its
// ES module (Node 20.19+, 22.12+), and hands it that first event, so nothing is lost: the first
// listen, request, call, child process, framework, worker thread or meter of the app.
//
// Why: every process that inherits NODE_OPTIONS runs the preload, and most (`node -e`, a test
// runner's workers, a CLI) never serve, call or record anything. Loading mon's recorders, route
// hooks and subscribers (~116 KB in sixteen modules) was +60 M instructions on Node 24 in each of
// them, 1.6-2.0 × bare `node -e 0` (test/bench/RESULTS.md, "Start-up instructions").
//
// Loaded at once, as before: in a node:cluster worker (its primary expects it from its first
// moments), and on a Node without require() of ES modules.
//
// What the preload runs in every process is written as parenthesized function expressions,
// `const f = (function f() {…})`, here and in the files it calls (app-api.ts, config.ts,
// supervisors.ts, worker-thread.ts): V8 compiles such a function with its module, where a
// declaration is scanned once to be skipped and parsed again when first called (-0.6 M
// instructions per process on Node 22-26: test/bench/RESULTS.md, "Start-up instructions").
// esbuild keeps the parentheses.
import { createRequire } from 'node:module';
import dc from 'node:diagnostics_channel';
import type { Meter, MeterOptions, MeterProvider } from '@opentelemetry/api';
import { MON_START_FAILED } from '@mon/warnings';
import { registerGlobalMeterProvider } from './app-api.js';
import { START_UP_GRACE_MS } from './after-start-up.js';
import { FIRST_NEED_CHANNELS, isWatchedRequire, MODULE_REQUIRE_END, WORKER_EVENT } from './channels.js';
import { preloadConfig } from './config.js';
import { isSupervisor } from './supervisors.js';
import { inWorkerThread } from './worker-thread.js';
import { debug, describe, warn } from './warn.js';

type Main = typeof import('./main.js');

const PIPELINE = Symbol.for('mon.pipeline');
const WORKER_STARTED = Symbol.for('mon.worker-thread');
type Global = typeof globalThis & { [PIPELINE]?: unknown; [WORKER_STARTED]?: unknown };

/** The preload (index.ts). Never throws. */
export const preload = (async function preload(): Promise<void> {
  try {
    const global = globalThis as Global;
    const worker = inWorkerThread();
    // Loaded twice (`--import` given twice, `-r` too, two installed copies): the first copy runs.
    if (worker ? global[WORKER_STARTED] !== undefined : global[PIPELINE] !== undefined) return debug('already started; this copy does nothing');
    const { atOnce, disabled } = preloadConfig();
    if (!worker && skipped(disabled)) {
      global[PIPELINE] = 'disabled';
      return;
    }
    if (atOnce || (process.features as { require_module?: boolean }).require_module !== true) {
      const main = await import('./main.js');
      if (worker) main.startInWorkerThread();
      else await main.start();
      return;
    }
    if (worker) return void untilFirstNeed((main) => main.startInWorkerThread(), false);
    global[PIPELINE] = 'starting';
    const standIn = new StandInMeterProvider();
    const preloadedAt = Date.now();
    const takeOver = untilFirstNeed((main) => void main.start({ standIn, preloadedAt }), true);
    standIn.onFirstMeter = () => takeOver('the app asked for a meter');
    // Before the app's first line: a module takes its meter at its top level.
    debug('global MeterProvider registered through %s @opentelemetry/api', (await registerGlobalMeterProvider(standIn, process.argv[1])) === 'app' ? "the app's" : "mon's own");
  } catch (error) {
    warn(MON_START_FAILED, `could not start metrics (${describe(error)}); the app runs without them. NODE_DEBUG=mon shows more.`);
    debug('preload failed: %o', error);
  }
});

/** Processes that get nothing at all. */
const skipped = (function skipped(disabled: boolean): boolean {
  if (isSupervisor(process.argv[1])) return true;
  if (disabled) {
    debug('OTEL_SDK_DISABLED=true: nothing started');
    return true;
  }
  return false;
});

/**
 * Watches every first need; the first one loads main.ts, runs `begin` (which subscribes mon's own
 * handlers) and replays the event to them. Returns the function that does so for another reason
 * (the app's first meter). In the main thread, after START_UP_GRACE_MS anyway (what serves and reads a
 * scrape waits that long: after-start-up.ts), which a short-lived process never reaches.
 */
const untilFirstNeed = (function untilFirstNeed(begin: (main: Main) => void, mainThread: boolean): (why: string) => void {
  let state: 'waiting' | 'loading' | 'done' = 'waiting';
  const onEvent = (message: unknown, name: string | symbol): void => first(name as string, message);
  // Node publishes this one at every require(): only a watched framework's file is a first need.
  const onRequire = (message: unknown, name: string | symbol): void => {
    if (isWatchedRequire(message)) first(name as string, message);
  };
  const onWorker = (worker: unknown): void => first(WORKER_EVENT, worker);
  const grace = mainThread ? setTimeout(() => first('start-up is over', undefined), START_UP_GRACE_MS) : undefined;
  grace?.unref();
  for (const name of FIRST_NEED_CHANNELS) dc.subscribe(name, name === MODULE_REQUIRE_END ? onRequire : onEvent);
  if (mainThread) process.on('worker', onWorker);

  function first(why: string, message: unknown): void {
    if (state !== 'waiting') return;
    state = 'loading';
    for (const name of FIRST_NEED_CHANNELS) dc.unsubscribe(name, name === MODULE_REQUIRE_END ? onRequire : onEvent);
    process.off('worker', onWorker);
    clearTimeout(grace);
    // Runs inside the app's own call (a publish, listen(), getMeter()): never throws into it.
    try {
      debug('first need: %s; loading the recorders', why);
      const main = createRequire(import.meta.url)('./main.js') as Main;
      begin(main);
      if (message !== undefined) main.replay(why, message);
    } catch (error) {
      warn(MON_START_FAILED, `could not start metrics (${describe(error)}); the app runs without them. NODE_DEBUG=mon shows more.`);
      debug('loading on first need failed: %o', error);
    }
    state = 'done';
  }
  return (why) => first(why, undefined);
});

/**
 * The global MeterProvider from the preload on: the app's first getMeter() loads mon, whose
 * LazyMeterProvider (lazy-meter-provider.ts) it hands every meter to from then on.
 */
export class StandInMeterProvider implements MeterProvider {
  onFirstMeter: () => void = () => {};
  #target: MeterProvider | undefined;

  /** Called by start.ts while onFirstMeter (or any first need) runs. */
  use(target: MeterProvider): void {
    this.#target = target;
  }

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    if (this.#target === undefined) this.onFirstMeter();
    // Still none: mon could not load (warned); the app's instruments do nothing, as the API's no-op ones.
    return this.#target?.getMeter(name, version, options) ?? NOOP_METER;
  }
}

const NOOP_INSTRUMENT = { add() {}, record() {}, addCallback() {}, removeCallback() {} };
const noop = (): typeof NOOP_INSTRUMENT => NOOP_INSTRUMENT;
const NOOP_METER = {
  createCounter: noop,
  createUpDownCounter: noop,
  createHistogram: noop,
  createGauge: noop,
  createObservableCounter: noop,
  createObservableUpDownCounter: noop,
  createObservableGauge: noop,
  addBatchObservableCallback() {},
  removeBatchObservableCallback() {},
} as unknown as Meter;
