// The millisecond clock of the client-side recorders (HTTP and HTTP/2 calls, databases): only
// differences of its readings are used. Taken once, at preload: fake-timer libraries replace
// performance.now and process.hrtime in an app's tests and must not skew its figures.
//
// Why not performance.now: the global `performance` loads all of perf_hooks at its first touch
// (+6.5 M instructions of start-up on Node 24, callgrind), in every process that inherits
// NODE_OPTIONS, where a recorder only needs the function at hand. Like performance.now, a reading
// allocates one number (here a BigInt, then a double).
const hrtimeBigint = process.hrtime.bigint;

export const clock = (): number => Number(hrtimeBigint()) / 1e6;

