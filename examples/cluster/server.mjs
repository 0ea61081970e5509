// A node:cluster app. Nothing in it knows about mon: `node --import @mon/register server.mjs`.
// cluster.fork() passes the flag on to the workers (they inherit execArgv, as they would
// NODE_OPTIONS), and the primary serves one /metrics for all of them on :9464.
import cluster from 'node:cluster';
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const workers = Number(process.env.WORKERS ?? 2);

if (cluster.isPrimary) {
  let listening = 0;
  let stopping = false;
  cluster.on('listening', (worker, address) => {
    // Once, when the first set of workers all listen; replacements listen silently.
    if (++listening === workers) {
      console.log(`listening ${address.port}`);
      console.log(`app:     http://localhost:${address.port}/`);
      console.log(`metrics: http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/metrics`);
      console.log(`live:    http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/`);
    }
  });
  // A worker that dies is replaced, as a supervisor would.
  cluster.on('exit', () => {
    if (!stopping) cluster.fork();
  });
  process.on('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
  });
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  http
    .createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') return res.end('hello world\n');
      if (url.pathname === '/pid') return res.end(`${process.pid}\n`);
      if (url.pathname === '/block') {
        // Blocks this worker's event loop (a hung worker), at most 10 s.
        const until = Date.now() + Math.min(Number(url.searchParams.get('ms')) || 1000, 10_000);
        while (Date.now() < until);
        return res.end('unblocked\n');
      }
      res.statusCode = 404;
      res.end('not found\n');
    })
    .listen(port);
}
