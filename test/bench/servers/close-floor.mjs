// Node's floor for instructions.mjs: what mon's HTTP hook makes Node itself do per request before
// any of mon's own code runs. A subscriber on `http.server.request.start` (Node then builds a message
// object per request) that keeps the message, as dc-floor.mjs does, and adds one 'close' listener to
// the response, as mon does (Node then emits 'close' to a listener: one more call per request).
// The listener does nothing, so whatever mon costs above this floor is mon's own code. mon's hook
// was this until 2026-12-07; it is kept as the `close-floor` variant of instructions.mjs to weigh
// Node's finish channel (hook-floor.mjs) against a listener per response line by line.
import dc from 'node:diagnostics_channel';

let last;
const onClose = () => {};
dc.subscribe('http.server.request.start', (message) => {
  last = message;
  message.response.on('close', onClose);
});
// Read once, so `last` is not a write-only variable V8 could drop.
process.once('exit', () => last);
