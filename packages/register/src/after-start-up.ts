// Work that the app does not need before its first line runs, done once the app has started.
//
// The preload runs before every line of the app, so all it does is added to the app's start-up.
// Only what must exist before the app's code does runs there: the global MeterProvider (the app's
// modules ask for meters as they load; a stand-in until the SDK is built, lazy-meter-provider.ts),
// the HTTP channels and framework hooks (the first request must be counted), the watch for child
// processes (a worker's hello comes once). The OpenTelemetry pipeline itself (the 'pipeline' stage,
// unless a first need came earlier: start.ts), what serves a scrape (the /metrics endpoint with
// node:http, the live page) and what a scrape reads (host and runtime metrics, with node:v8) wait
// START_UP_GRACE_MS: Prometheus scrapes every 15-60 s,
// so a second costs nothing there, while a short-lived process (a CLI under NODE_OPTIONS, a
// `node -e`) ends before it and never pays for either. Measured on Node 24 (`node --import
// @mon/register -e 0`, callgrind): 252 M instructions before, of which this moves ~85 M.
import { MON_START_FAILED } from '@mon/warnings';
import { debug, describe, warn } from './warn.js';

/** How long after the preload the deferred set-up runs: past a typical app's own start-up. */
export const START_UP_GRACE_MS = 1_000;

type Task = () => void | Promise<void>;

/**
 * 'pipeline' (loading and building the SDK, which queues the others) settles first; then 'sources'
 * (what a scrape reads) all start, and their promises settle, before any 'endpoint' task (what
 * serves a scrape) runs: the first scrape finds every metric.
 */
export type Stage = 'pipeline' | 'sources' | 'endpoint';
const STAGES: readonly Stage[] = ['pipeline', 'sources', 'endpoint'];

let timer: NodeJS.Timeout | undefined;
/** When the preload ran (Date.now()), if mon was loaded later, on first need (first-need.ts). */
let preloadedAt: number | undefined;
let tasks: Array<{ name: string; task: Task; stage: Stage }> = [];

/** The grace counts from the preload (Date.now() then), not from when mon was loaded on first need. */
export function startUpBegan(at: number | undefined): void {
  preloadedAt = at;
}

/**
 * Runs `task` START_UP_GRACE_MS after the preload (or after the first task was queued), on a timer that never keeps the
 * process alive. A task that throws costs a warning naming it; the others still run. Returns a
 * cancel function (a pipeline shut down before then starts nothing).
 */
export function afterStartUp(name: string, stage: Stage, task: Task): () => void {
  const entry = { name, task, stage };
  tasks.push(entry);
  if (timer === undefined) {
    const delay = preloadedAt === undefined ? START_UP_GRACE_MS : Math.max(0, preloadedAt + START_UP_GRACE_MS - Date.now());
    timer = setTimeout(() => void runAll(), delay);
    timer.unref();
  }
  return () => {
    tasks = tasks.filter((t) => t !== entry);
  };
}

/** Drops every task not yet run (the pipeline was shut down first). */
export function cancelAfterStartUp(): void {
  tasks = [];
  clearTimeout(timer);
  timer = undefined;
}

async function runAll(): Promise<void> {
  timer = undefined;
  for (const stage of STAGES) {
    const due = tasks.filter((t) => t.stage === stage);
    // Cancelled meanwhile (shut down while the sources started): nothing more.
    if (due.length === 0) continue;
    tasks = tasks.filter((t) => t.stage !== stage);
    await Promise.all(due.map(({ name, task }) => run(name, task)));
  }
}

/** Never rejects: a failure is one warning naming what did not start. */
async function run(name: string, task: Task): Promise<void> {
  try {
    await task();
  } catch (error) {
    warn(MON_START_FAILED, `could not start ${name} (${describe(error)}); the rest of mon runs on. NODE_DEBUG=mon shows more.`);
    debug('%s failed to start: %o', name, error);
  }
}
