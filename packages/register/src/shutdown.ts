// Flush push exporters when the app ends, without changing how it ends.
//
// - Event loop empty ('beforeExit'): flush, then let the process exit as it was about to.
// - SIGTERM/SIGINT: any listener removes Node's default exit (opentelemetry-js#1521). So when
//   the app has no handler of its own, flush (bounded) and re-raise the signal: the process dies
//   of it exactly as it would have. When the app has a handler, flush alongside and leave the
//   exit to the app; what it serves while draining is flushed again when its loop empties.
//   A second signal during the flush re-raises at once.
// - process.exit(): nothing can run asynchronously any more; the last interval is lost (docs/otlp.md).
//
// Pull-only setups (Prometheus) have nothing to flush and install none of this.
import { MON_FLUSH_FAILED } from '@mon/warnings';
import { debug, describe, warn } from './warn.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function flushOnExit(flush: () => Promise<void>, timeoutMillis: number): () => void {
  let inFlight: Promise<void> | undefined;
  let exiting = false;
  let flushedAtExit = false;

  // One flush at a time; once it settles the next request flushes anew, so an app that drains
  // after an app-handled SIGTERM still exports what it drained.
  const flushNow = (): Promise<void> => {
    inFlight ??= bounded(flush(), timeoutMillis)
      .catch((error: unknown) => warn(MON_FLUSH_FAILED, `the last metrics could not be sent at exit (${describe(error)}).`))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const onBeforeExit = (): void => {
    // 'beforeExit' fires again when the flush's own I/O is done: flush once, then let it exit.
    if (flushedAtExit) return;
    flushedAtExit = true;
    // A flush still running (started by a signal the app handles) predates what the app served
    // since: wait for it, then flush again.
    const previous = inFlight;
    void (previous ? previous.then(flushNow) : flushNow());
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    const appHandles = process.listenerCount(signal) - 1 - signalExitListeners() > 0;
    debug('%s: flushing metrics (the app handles it: %s)', signal, appHandles);
    if (appHandles) {
      void flushNow();
      return;
    }
    if (exiting) return reraise(signal);
    exiting = true;
    void flushNow().then(() => reraise(signal));
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

/**
 * signal-exit (under execa, write-file-atomic, restore-cursor, …) re-raises a signal only when its
 * own listeners are the only ones; counted as the app's, it and mon would each wait for the other
 * and the process would never die. Its instances are counted on a global: v4 a symbol, v3 a
 * process field; each instance holds one listener per signal.
 */
function signalExitListeners(): number {
  const count = (holder: unknown): number => {
    const value = (holder as { count?: unknown } | undefined)?.count;
    return typeof value === 'number' && value > 0 ? value : 0;
  };
  return (
    count((globalThis as Record<symbol, unknown>)[Symbol.for('signal-exit emitter')]) +
    count((process as unknown as { __signal_exit_emitter__?: unknown }).__signal_exit_emitter__)
  );
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
