// Node 20 publishes no `http2.*` diagnostics channels (they came in Node 22 and 24), so HTTP/2
// and gRPC traffic cannot be counted there without patching, which mon does not do. Rather than
// leave a gRPC service's dashboard silently empty, the first HTTP/2 server to start listening
// costs one warning. Seen through `tracing:net.server.listen` (Node 20 has it), which fires once
// per listen() of any server: one prototype walk per listen, nothing per request.
import dc from 'node:diagnostics_channel';
import { MON_HTTP2_NOT_COUNTED } from '@mon/warnings';
import { warn } from '../warn.js';

const LISTEN = 'tracing:net.server.listen:asyncStart';

/** Whether this Node line publishes the http2 stream channels (22 and later). */
export const HTTP2_CHANNELS = Number(process.versions.node.split('.')[0]) >= 22;

/** node:http2's server classes, found by name: loading node:http2 to compare would cost every app. */
function isHttp2Server(server: unknown): boolean {
  for (let proto = server; typeof proto === 'object' && proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === 'Http2Server' || name === 'Http2SecureServer') return true;
  }
  return false;
}

/** On Node 20: warns once when an HTTP/2 server listens. Returns the function that stops watching. */
export function warnUncountedHttp2(): () => void {
  if (HTTP2_CHANNELS) return () => {};
  let warned = false;
  const onListen = (message: unknown): void => {
    if (warned) return;
    // Runs inside the app's listen(): never throw into it.
    try {
      if (!isHttp2Server((message as { server?: unknown } | null)?.server)) return;
    } catch {
      return;
    }
    warned = true;
    dc.unsubscribe(LISTEN, onListen);
    warn(
      MON_HTTP2_NOT_COUNTED,
      `Node ${process.versions.node} publishes no HTTP/2 diagnostics channels: this HTTP/2 server's requests and gRPC calls are not counted. Node 22 or later counts them.`,
    );
  };
  dc.subscribe(LISTEN, onListen);
  return () => {
    if (!warned) dc.unsubscribe(LISTEN, onListen);
  };
}
