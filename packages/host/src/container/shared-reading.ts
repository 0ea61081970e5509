// One reading for the callbacks of one collection: process.cpu.utilization divides by the CPU
// limit and container.cpu.limit reports it, and a collection runs both callbacks one after the
// other; one walk of the quota files up the hierarchy serves both (collect.bench.mjs).
/**
 * `read`, shared between the callers named in `callers`: each gets a reading taken since its own
 * previous call (so a caller collecting alone re-reads every time) and at most `maxAgeMs` old (so a
 * caller that skipped collections never gets another's old reading). Returns one function per
 * caller, in the order named.
 */
export function sharedReading<T, const C extends readonly string[]>(
  read: () => T,
  callers: C,
  maxAgeMs = 1000,
  now = Date.now,
): { [K in keyof C]: () => T } {
  let value: T;
  let at = -Infinity;
  // Which callers have had the current reading, a bit each: a Set's has/add/clear cost 4-6 µs
  // more at a collection's cold start (RESULTS.md "Container collection").
  let seen = 0;
  return callers.map((_, index) => {
    const bit = 1 << index;
    return () => {
      // Date.now(), not performance.now(): at a collection's cold start the latter cost 12-16 µs
      // more (RESULTS.md "Container collection"). A clock set back makes the reading stale.
      const time = now();
      if ((seen & bit) !== 0 || time - at > maxAgeMs || time < at) {
        value = read();
        at = time;
        seen = 0;
      }
      seen |= bit;
      return value;
    };
  }) as { [K in keyof C]: () => T };
}
