// Flush push exporters when the app ends, without changing how it ends.
//
// - Event loop empty ('beforeExit'): flush, then let the process exit as it was about to.
// - SIGTERM/SIGINT: any listener removes Node's default exit (opentelemetry-js#1521). So when
//   the app has no handler of its own, flush (bounded) and re-raise the signal: the process dies
//   of it exactly as it would have. When the app has a handler, flush alongside and leave the
//   exit to the app. A second signal during the flush re-raises at once.
// - process.exit(): nothing can run asynchronously any more; the last interval is lost (README).
//
// Pull-only setups (Prometheus) have nothing to flush and install none of this.
import { debug, describe, warn } from './warn.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function flushOnExit(flush: () => Promise<void>, timeoutMillis: number): () => void {
  let flushing: Promise<void> | undefined;

  const flushOnce = (): Promise<void> => {
    flushing ??= bounded(flush(), timeoutMillis).catch((error: unknown) => {
      warn('MON_FLUSH_FAILED', `the last metrics could not be sent at exit (${describe(error)}).`);
    });
    return flushing;
  };

  const onBeforeExit = (): void => {
    process.removeListener('beforeExit', onBeforeExit);
    void flushOnce();
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    const appHasHandler = process.listenerCount(signal) > 1;
    debug('%s: flushing metrics (app handles it: %s)', signal, appHasHandler);
    if (flushing !== undefined && !appHasHandler) return reraise(signal);
    const done = flushOnce();
    if (!appHasHandler) void done.then(() => reraise(signal));
  };

  const reraise = (signal: NodeJS.Signals): void => {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  };

  process.on('beforeExit', onBeforeExit);
  for (const s of SIGNALS) process.on(s, onSignal);
  return () => {
    process.removeListener('beforeExit', onBeforeExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}

function bounded(work: Promise<void>, timeoutMillis: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    // Not unref'd on purpose: during a signal-triggered flush the timer is what guarantees the
    // re-raise happens even if the export hangs with nothing else keeping the loop alive.
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMillis} ms (OTEL_METRIC_EXPORT_TIMEOUT)`)), timeoutMillis);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
