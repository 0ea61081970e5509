// An app that makes one outgoing call per request: it proxies every request to a local upstream
// (servers/upstream.mjs, started here as a bare child process, so only the proxy carries the
// preload) with fetch (BENCH_PROXY_CLIENT=fetch) or http.request (=http), and answers with the
// upstream's body. Knows nothing about metrics, like hello.mjs.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const client = process.env.BENCH_PROXY_CLIENT === 'http' ? 'http' : 'fetch';
const upstreamScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'upstream.mjs');
// No NODE_OPTIONS and no execArgv: the upstream never runs the preload, whatever the proxy runs.
const env = { ...process.env, NODE_OPTIONS: '', PORT: '0' };
const upstream = spawn(process.execPath, [upstreamScript], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const upstreamPort = await new Promise((resolve, reject) => {
  upstream.stdout.setEncoding('utf8').on('data', (d) => {
    const m = /listening (\d+)/.exec(d);
    if (m) resolve(Number(m[1]));
  });
  upstream.once('exit', () => reject(new Error('upstream exited')));
});
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => (upstream.kill(), process.exit(0)));
process.once('exit', () => upstream.kill());

const target = `http://127.0.0.1:${upstreamPort}/`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function viaHttp(res) {
  http
    .get(target, { agent }, (up) => {
      const chunks = [];
      up.on('data', (c) => chunks.push(c));
      up.on('end', () => res.end(Buffer.concat(chunks)));
    })
    .on('error', () => ((res.statusCode = 502), res.end()));
}

function viaFetch(res) {
  fetch(target)
    .then((up) => up.text())
    .then(
      (body) => res.end(body),
      () => ((res.statusCode = 502), res.end()),
    );
}

const forward = client === 'http' ? viaHttp : viaFetch;
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  forward(res);
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
