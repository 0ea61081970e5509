// One short phrase per error, for warning lines; its own module (and subpath export) so that
// @mon/register's preload can use it without loading the metric sources (node:v8, perf_hooks).
/** An error as one short phrase for a warning line: its code and message (@mon/register's warnings use it too). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  // Node's system errors already start with their code ("ENOENT: no such file ...").
  return code && !error.message.startsWith(String(code)) ? `${code}: ${error.message}` : error.message;
}
