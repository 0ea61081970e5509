// A failing source (an unreadable /proc file, statfs on a vanished path) costs its own metrics and
// one report, never the other metrics, an exception in the reader, or an unhandled rejection.
import { describeError } from './describe-error.js';
import { MON_SOURCE_FAILED, processWarning } from '@mon/warnings';

/** The user's handler: called at most once per source for the life of one startHostMetrics. */
export type OnError = (source: string, error: unknown) => void;

/** `fix` is what the default warning tells the user to do; a custom onError gets source and error. */
export type Report = (source: string, error: unknown, fix: string) => void;

export function createReport(onError: OnError | undefined): Report {
  const reported = new Set<string>();
  return (source, error, fix) => {
    // Once per source: a scrape every 15 s must not turn one broken mount into a log flood.
    if (reported.has(source)) return;
    reported.add(source);
    try {
      if (onError) onError(source, error);
      else {
        // A MonWarning process warning: honours --no-warnings; the type and code let users filter it.
        processWarning(MON_SOURCE_FAILED, `${source} metrics are unavailable (${describeError(error)}); the other metrics carry on. ${fix}`);
      }
    } catch {
      // A throwing handler must not break the collection that called it.
    }
  };
}
