// The floor of allocations.mjs (and, through hook-floor.mjs, of instructions.mjs):
// `node --import ./dc-floor.mjs hello.mjs` subscribes to the diagnostics channels mon's HTTP metrics
// listen on, `http.server.request.start` and `http.server.response.finish`, and keeps the last
// message of each as mon's listeners keep what they read from them. Once anyone subscribes, Node
// builds a message object per request for each; a subscriber that ignores it lets V8 inline the
// publish and leave the object out (measured: 0 to 33 B/req from one process to the next), one that
// keeps it does not. This is what the hook costs before mon does anything: what mon allocates above
// it is mon's own. (Until 2026-12-07 mon ended a request on a 'close' listener per response, and
// this floor subscribed to the start channel only.)
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
