// Its own module (and subpath export) so that @mon/register's preload can name the meter without
// loading the metric sources (node:v8, perf_hooks), which start after the app's start-up.

/** The meter every host metric is recorded through (its instrumentation scope). */
export const HOST_METER_NAME = '@mon/host';
