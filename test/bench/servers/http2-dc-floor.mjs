// The floor of http2.mjs: subscribers on the two http2 channels mon's HTTP/2 recorder listens on
// (http2.server.stream.start and .close), keeping the last message as mon's listener reads it.
// Once anyone subscribes, Node builds those message objects per stream: what mon allocates above
// this is its own (see dc-floor.mjs for HTTP/1).
import dc from 'node:diagnostics_channel';

let last;
const keep = (message) => {
  last = message;
};
// BENCH_FLOOR_WEAKMAP=1: also one WeakMap entry per stream, set at start and deleted at close,
// holding a small integer: what any recorder keyed on the stream pays (mon's server.ts does just this).
const inFlight = process.env.BENCH_FLOOR_WEAKMAP === '1' ? new WeakMap() : undefined;
let n = 0;
dc.subscribe('http2.server.stream.start', inFlight ? (message) => (keep(message), inFlight.set(message.stream, n++ & 0xffff)) : keep);
dc.subscribe('http2.server.stream.close', inFlight ? (message) => (keep(message), inFlight.delete(message.stream)) : keep);
process.once('exit', () => last);
