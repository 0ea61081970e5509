// The floor of the proxy apps in allocations.mjs: `node --import ./client-dc-floor.mjs proxy.mjs`
// subscribes to every channel mon's HTTP metrics listen on, server and client, and keeps the last
// message of each, as dc-floor.mjs does for the server alone. Once anyone subscribes, Node and undici
// build a message object per publish (five or six per proxied request); what mon allocates above
// this is mon's own.
import dc from 'node:diagnostics_channel';

const last = {};
for (const name of [
  'http.server.request.start',
  'http.client.request.start',
  'http.client.response.finish',
  'http.client.request.error',
  'undici:request:create',
  'undici:request:headers',
  'undici:request:trailers',
  'undici:request:error',
]) {
  dc.subscribe(name, (message) => {
    last[name] = message;
  });
}
process.once('exit', () => last);
