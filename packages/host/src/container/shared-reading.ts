// One reading for the callbacks of one collection: process.cpu.utilization divides by the CPU
// limit and container.cpu.limit reports it, and a collection runs both callbacks one after the
// other; one walk of the quota files up the hierarchy serves both (collect.bench.mjs).
/**
 * `read`, shared: each caller gets a reading taken since its own previous call (so a caller
 * collecting alone re-reads every time) and at most `maxAgeMs` old (so a caller that skipped
 * collections never gets another's old reading).
 */
export function sharedReading<T>(read: () => T, maxAgeMs = 1000, now = Date.now): (caller: string) => T {
  let value: T;
  let at = -Infinity;
  const seen = new Set<string>();
  return (caller) => {
    // Date.now(), not performance.now(): at a collection's cold start the latter cost 12-16 µs
    // more (RESULTS.md "Container collection"). A clock set back makes the reading stale.
    const time = now();
    if (seen.has(caller) || time - at > maxAgeMs || time < at) {
      value = read();
      at = time;
      seen.clear();
    }
    seen.add(caller);
    return value;
  };
}
