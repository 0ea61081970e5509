// DNS rebinding: a web page the developer visits can point its own domain at 127.0.0.1 and then read
// any server on the developer's loopback interface, its `/metrics` and live page included; the
// browser sends the attacker's domain as Host. A server bound to loopback only serves clients of
// this machine, which name it by a loopback address, `localhost` (`*.localhost` resolves to loopback
// by RFC 6761) or the address it is bound to, so any other Host is refused, as webpack-dev-server
// and Vite do. A server bound to another address is reached by names we cannot know: no check.
import { isIP } from 'node:net';

/**
 * A predicate on the Host header for a server bound to `boundHost`, or undefined when any Host is
 * fine (not bound to loopback). A request without Host (HTTP/1.0; browsers always send one) passes.
 */
export function createHostCheck(boundHost: string | undefined): ((host: string | undefined) => boolean) | undefined {
  if (boundHost === undefined || !isLoopback(boundHost)) return undefined;
  const bound = boundHost.toLowerCase();
  return (host) => {
    if (host === undefined) return true;
    const name = hostname(host);
    return name === bound || isLoopback(name);
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
  const version = isIP(name);
  if (version === 4) return name.startsWith('127.');
  if (version !== 6) return false;
  // The URL parser writes an IPv6 address in its shortest form (`0:0:0:0:0:0:0:1` -> `::1`,
  // `::ffff:127.0.0.1` -> `::ffff:7f00:1`).
  const canonical = new URL(`http://[${name}]/`).hostname;
  return canonical === '[::1]' || canonical.startsWith('[::ffff:7f');
}
