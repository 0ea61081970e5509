// The floor of allocations.mjs: `node --import ./dc-floor.mjs hello.mjs` subscribes to the diagnostics
// channel mon's HTTP metrics listen on, and keeps the last message as mon's listener keeps what it
// reads from it. Once anyone subscribes, Node builds a message object per request; a subscriber that
// ignores it lets V8 inline the publish and leave the object out (measured: 0 to 33 B/req from one
// process to the next), one that keeps it does not. This is what the hook costs before mon does
// anything: what mon allocates above it is mon's own.
import dc from 'node:diagnostics_channel';

let last;
dc.subscribe('http.server.request.start', (message) => {
  last = message;
});
// Read once, so `last` is not a write-only variable V8 could drop.
process.once('exit', () => last);
