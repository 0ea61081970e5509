// Node's floor for instructions.mjs: what mon's HTTP hook makes Node itself do per request before
// any of mon's own code runs. Subscribers on `http.server.request.start` and
// `http.server.response.finish` (Node then builds a message object per request for each) that keep
// the message, as dc-floor.mjs does. mon also adds one 'close' listener per connection, not per
// request: with keep-alive connections that is nothing per request, so the floor leaves it out.
// The subscribers do nothing, so whatever mon costs above this floor is mon's own code.
// (Until 2026-12-07 mon's hook was one 'close' listener per response instead of the finish channel,
// and the floor did that: see git history and test/bench/RESULTS.md's "before" figures.)
import dc from 'node:diagnostics_channel';

let started;
let finished;
dc.subscribe('http.server.request.start', (message) => {
  started = message;
});
dc.subscribe('http.server.response.finish', (message) => {
  finished = message;
});
// Read once, so neither is a write-only variable V8 could drop.
process.once('exit', () => [started, finished]);
