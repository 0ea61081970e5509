// The floor of http2.mjs: subscribers on the two http2 channels mon's HTTP/2 recorder listens on
// (http2.server.stream.start and .close), keeping the last message as mon's listener reads it.
// Once anyone subscribes, Node builds those message objects per stream: what mon allocates above
// this is its own (see dc-floor.mjs for HTTP/1).
import dc from 'node:diagnostics_channel';

let last;
const keep = (message) => {
  last = message;
};
dc.subscribe('http2.server.stream.start', keep);
dc.subscribe('http2.server.stream.close', keep);
process.once('exit', () => last);
