// Node's floor for instructions.mjs: what mon's HTTP hook makes Node itself do per request before
// any of mon's own code runs: the subscribers of dc-floor.mjs, on `http.server.request.start` and
// `http.server.response.finish`, doing nothing but keep the message. mon also adds one 'close'
// listener per connection, not per request: with keep-alive connections that is nothing per
// request, so the floor leaves it out. Whatever mon costs above this floor is mon's own code.
// (Until 2026-12-07 mon's hook was one 'close' listener per response instead of the finish channel,
// and the floor did that: see git history and test/bench/RESULTS.md's "before" figures.)
import './dc-floor.mjs';
