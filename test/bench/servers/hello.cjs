// hello.mjs as a CommonJS app (most Express apps are): an ESM app pays for node:http's ESM facade
// itself, bare too, which hides what a preload costs a CommonJS one. Start-up bench only.
const http = require('node:http');

const body = 'hello world\n';
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(body);
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
