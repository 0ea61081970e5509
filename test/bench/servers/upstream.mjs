// The upstream servers/proxy.mjs calls: hello.mjs's answer, on a port of its own choosing.
import http from 'node:http';

const body = 'hello world\n';
const server = http.createServer((req, res) => res.end(body));
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
