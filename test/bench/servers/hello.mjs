// The app every HTTP bench runs: the smallest node:http server, so whatever a preload adds per
// request is as visible as it can be. It knows nothing about metrics; the variants differ only in
// what is loaded before it (`--import @mon/register`, `--import ./peer-otel.mjs`, nothing).
import http from 'node:http';

const body = 'hello world\n';
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(body);
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
