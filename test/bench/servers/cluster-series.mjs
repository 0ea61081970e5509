// The app of cluster-push.mjs: a node:cluster app with BENCH_WORKERS workers (default 2) whose
// HTTP server metrics can hold up to 2 000 series each: the status code is the path (`/204`), the
// method is the request's, so 5 methods x 400 status codes (200-599) are 2 000 distinct series.
// Each worker listens on a port of its own (`exclusive`), so the bench decides which worker gets
// which request; the primary prints `workers [{"pid":…,"port":…},…]` once all listen.
//
// On a line "stats" on stdin the primary prints `stats {"primary":…,"workers":[…],"pushes":[…],"bytes":[…]}`:
// process.cpuUsage() of itself and of each worker (asked over the app's own IPC messages), and per
// worker the pushes it has received so far (mon's metrics messages that answer no collect request)
// and their bytes. It counts them from the workers' 'internalMessage' events, which mon's own messages go to;
// without mon there are none.
import cluster from 'node:cluster';
import http from 'node:http';
import readline from 'node:readline';

const workers = Number(process.env.BENCH_WORKERS ?? 2);

if (cluster.isPrimary) {
  const found = [];
  const forked = [];
  let asked;
  const pushes = [];
  const bytes = [];
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    forked.push(worker);
    pushes[i] = 0;
    bytes[i] = 0;
    worker.process.on('internalMessage', (message) => {
      if (message?.cmd !== 'NODE_MON' || message.type !== 'metrics' || message.ids !== undefined) return;
      pushes[i]++;
      bytes[i] += message.produced?.length ?? 0;
    });
    worker.on('message', (message) => {
      if (message?.app === 'cpu') asked?.(i, message.usage);
      if (message?.app !== 'port') return;
      found[i] = { pid: worker.process.pid, port: message.port };
      if (found.filter(Boolean).length === workers) console.log(`workers ${JSON.stringify(found)}`);
    });
  }
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'stats') return;
    const usage = [];
    asked = (i, cpu) => {
      usage[i] = cpu;
      if (usage.filter(Boolean).length < workers) return;
      asked = undefined;
      console.log(`stats ${JSON.stringify({ primary: process.cpuUsage(), workers: usage, pushes, bytes })}`);
    };
    for (const worker of forked) worker.send({ app: 'cpu' });
  });
  process.stdin.on('end', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const server = http.createServer((req, res) => {
    const status = Number(req.url.slice(1));
    res.statusCode = status >= 200 && status <= 599 ? status : 404;
    res.end();
  });
  process.on('message', (message) => {
    if (message?.app === 'cpu') process.send({ app: 'cpu', usage: process.cpuUsage() });
  });
  server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => process.send({ app: 'port', port: server.address().port }));
}
