// Node 20 publishes no `http2.*` diagnostics channels (they came in Node 22 and 24), so HTTP/2
// and gRPC traffic cannot be counted there without patching, which mon does not do. Rather than
// leave a gRPC service's dashboard silently empty, the first HTTP/2 server to start listening
// costs one warning. Seen through `tracing:net.server.listen` (Node 20 has it), which fires once
// per listen() of any server: one prototype walk per listen, nothing per request.
import { subscribe, unsubscribe } from '../channels.js';
import { MON_HTTP2_NOT_COUNTED } from '@mon/warnings';
import { warn } from '../warn.js';

const LISTEN = 'tracing:net.server.listen:asyncStart';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
/**
 * Whether this Node publishes every `http2.server.stream.*` channel mon reads: `start` came in
 * 22.17 / 24.2 and `close` only in 22.18 / 24.3 (Node's changelogs). With `start` and no `close`
 * every stream would stay active for ever, so those releases count nothing and get the warning.
 */
export const HTTP2_SERVER_CHANNELS = major >= 25 || (major === 24 && minor >= 3) || (major === 22 && minor >= 18);
/** Likewise `http2.client.stream.*`: all of them in 22.17; in 24.1 (`created`, `start`) and 24.2 (`close`). */
export const HTTP2_CLIENT_CHANNELS = major >= 25 || (major === 24 && minor >= 2) || (major === 22 && minor >= 17);

/** node:http2's server classes, found by name: loading node:http2 to compare would cost every app. */
function isHttp2Server(server: unknown): boolean {
  for (let proto = server; typeof proto === 'object' && proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === 'Http2Server' || name === 'Http2SecureServer') return true;
  }
  return false;
}

/** Where the server channels are missing (Node 20, 22 before 22.18, 24 before 24.3): warns once when an HTTP/2 server listens. Returns the function that stops watching. */
export function warnUncountedHttp2(): () => void {
  if (HTTP2_SERVER_CHANNELS) return () => {};
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
    unsubscribe(LISTEN, onListen);
    warn(
      MON_HTTP2_NOT_COUNTED,
      `Node ${process.versions.node} does not publish the HTTP/2 diagnostics channels mon reads: this HTTP/2 server's requests and gRPC calls are not counted. Node 22.18, 24.3 or later counts them.`,
    );
  };
  subscribe(LISTEN, onListen);
  return () => {
    if (!warned) unsubscribe(LISTEN, onListen);
  };
}
