// The load of http2.mjs, run as its own process: `node http2-load.mjs <http2|grpc|http1> <port>
// <count> <concurrency>` sends exactly <count> requests (HTTP/2 GETs on one session, gRPC unary
// calls on one channel, or HTTP/1.1 GETs on <concurrency> keep-alive sockets), <concurrency> in
// flight, and prints `done <count> <ms>`.
import http from 'node:http';
import http2 from 'node:http2';

const [kind, port, count, concurrency] = process.argv.slice(2);
const total = Number(count);
let sent = 0;
let done = 0;
const started = performance.now();

let one;
let close;
if (kind === 'grpc') {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const proto = grpc.loadPackageDefinition(protoLoader.loadSync(new URL('../../fixtures/grpc/echo.proto', import.meta.url).pathname)).mon.test;
  const client = new proto.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  one = (next) =>
    client.Say({ text: 'hi' }, (error) => {
      if (error) throw error;
      next();
    });
  close = () => client.close();
} else if (kind === 'http1') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
  one = (next) =>
    http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', next);
    });
  close = () => agent.destroy();
} else {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  one = (next) => {
    const req = session.request({ ':path': '/' });
    req.resume();
    req.on('close', next);
    req.end();
  };
  close = () => session.close();
}

await new Promise((resolve) => {
  const next = () => {
    done++;
    if (done === total) return resolve();
    if (sent < total) {
      sent++;
      one(next);
    }
  };
  for (let i = 0; i < Math.min(Number(concurrency), total); i++) {
    sent++;
    one(next);
  }
});
close();
console.log(`done ${done} ${Math.round(performance.now() - started)}`);
