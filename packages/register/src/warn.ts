import { debuglog } from 'node:util';
import type { WarningCode } from '@mon/warnings';

/** `NODE_DEBUG=mon` shows the detail behind each warning (undici does the same with `undici`). */
export const debug = debuglog('mon');

const said = new Set<string>();
let muted = false;

/** A worker thread's copy of the preload: the main thread already said everything (worker-thread.ts). */
export function muteWarnings(): void {
  muted = true;
}

/**
 * One line on stderr, once per distinct message: the cause, what mon does instead, the fix.
 *
 * Not `process.emitWarning`: Node appends a second line ("Use `node --trace-warnings` ...") to
 * the first warning of a process, and a preload gets one line at most. `--no-warnings` and
 * NODE_NO_WARNINGS=1 still silence it, as they would an emitted warning. The preload's one way out:
 * its own code calls it, and it is handed to the PrometheusReader it builds (`warn` option).
 */
export function warn(code: WarningCode, message: string): void {
  const key = `${code}\0${message}`;
  if (said.has(key)) return;
  said.add(key);
  debug('%s: %s', code, message);
  if (muted || warningsSilenced()) return;
  try {
    process.stderr.write(`mon: ${message} [${code}]\n`);
  } catch {
    // stderr closed: nowhere left to say it, and telemetry never takes the app down.
  }
}

function warningsSilenced(): boolean {
  return (
    process.env.NODE_NO_WARNINGS === '1' ||
    process.execArgv.includes('--no-warnings') ||
    (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes('--no-warnings')
  );
}

// An error as one short phrase for a warning line: one definition, shared with @mon/host's reports.
export { describeError as describe } from '@mon/host/describe-error';
