// The time of day as an OpenTelemetry HrTime ([seconds, nanoseconds] since the epoch), for the
// pre-aggregating recorders' start and collection times.
//
// Why not @opentelemetry/core's hrTime(): it reads the global `performance`, whose first touch loads
// all of perf_hooks (observers, timerify, the event-loop-delay histogram), and core with it, in every
// process that inherits NODE_OPTIONS, though a recorder only needs its start time then. Anchored once
// to Date.now() and carried on by the monotonic process.hrtime(): millisecond-accurate like the
// SDK's own clock (performance.timeOrigin is a millisecond figure too), and never going backwards.
import type { HrTime } from '@opentelemetry/api';

let anchorMillis: number | undefined;
let anchor: [number, number] = [0, 0];

export function hrTime(): HrTime {
  if (anchorMillis === undefined) {
    anchorMillis = Date.now();
    anchor = process.hrtime();
  }
  const [seconds, nanos] = process.hrtime(anchor);
  const total = (anchorMillis % 1000) * 1e6 + nanos;
  return [Math.trunc(anchorMillis / 1000) + seconds + Math.trunc(total / 1e9), total % 1e9];
}
