// DNS rebinding: a web page the developer visits can point its own domain at 127.0.0.1 and then read
// any server on the developer's loopback interface, its `/metrics` and live page included; the
// browser sends the attacker's domain as Host. A server bound to loopback only serves clients of
// this machine, which name it by a loopback address, `localhost` (`*.localhost` resolves to loopback
// by RFC 6761), the address it is bound to or the name it was configured with, so any other Host is
// refused, as webpack-dev-server and Vite do. A server bound to another address is reached by names
// we cannot know: no check.
//
// Whether the check applies is decided from the address the server is actually bound to, never
// from the configured name: any name can resolve to loopback (the machine's own name in
// /etc/hosts, Debian's `127.0.1.1 <hostname>`, `localhost.localdomain`, `ip6-localhost`, `127.1`).
import { isIP } from 'node:net';

/**
 * A predicate on the Host header for a server bound to `boundAddress` (server.address().address),
 * or undefined when any Host is fine (not bound to loopback). `configuredHost`, the name the server
 * was told to listen on, is accepted as a Host too. A request without Host (HTTP/1.0; browsers always
 * send one) passes.
 */
export function createHostCheck(boundAddress: string | undefined, configuredHost?: string): ((host: string | undefined) => boolean) | undefined {
  if (boundAddress === undefined || !isLoopback(boundAddress.toLowerCase())) return undefined;
  const bound = boundAddress.toLowerCase();
  // An IPv6 literal is configured bare (`::1`); hostname() would cut it at its first colon.
  const configured = configuredHost === undefined ? bound : isIP(configuredHost) === 6 ? configuredHost.toLowerCase() : hostname(configuredHost);
  return (host) => {
    if (host === undefined) return true;
    const name = hostname(host);
    return name === bound || name === configured || isLoopback(name);
  };
}

/** The host part of a Host header, lower case, without port or IPv6 brackets. */
function hostname(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const close = lower.indexOf(']');
    return close === -1 ? lower : lower.slice(1, close);
  }
  const colon = lower.indexOf(':');
  const name = colon === -1 ? lower : lower.slice(0, colon);
  // A fully qualified `localhost.` is the same name.
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isLoopback(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  // An IPv6 zone id (`fe80::1%lo`): no browser sends one, and the URL parser below rejects it.
  if (name.includes('%')) return false;
  const version = isIP(name);
  if (version === 4) return name.startsWith('127.');
  if (version !== 6) return false;
  // The URL parser writes an IPv6 address in its shortest form (`0:0:0:0:0:0:0:1` -> `::1`,
  // `::ffff:127.0.0.1` -> `::ffff:7f00:1`).
  const canonical = new URL(`http://[${name}]/`).hostname;
  return canonical === '[::1]' || canonical.startsWith('[::ffff:7f');
}
