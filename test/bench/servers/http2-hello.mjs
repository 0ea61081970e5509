// The servers of http2.mjs, on PORT: BENCH_KIND=http2 a node:http2 h2c hello world (stream API),
// BENCH_KIND=grpc a @grpc/grpc-js unary echo, BENCH_KIND=http1 the same hello world on node:http
// (the HTTP/1 recorder measured by the same harness, for comparison).
import http from 'node:http';
import http2 from 'node:http2';

const port = Number(process.env.PORT);
if (process.env.BENCH_KIND === 'grpc') {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const proto = grpc.loadPackageDefinition(protoLoader.loadSync(new URL('../../fixtures/grpc/echo.proto', import.meta.url).pathname)).mon.test;
  const server = new grpc.Server();
  server.addService(proto.Echo.service, {
    Say: (call, callback) => callback(null, { text: call.request.text }),
  });
  await new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
} else if (process.env.BENCH_KIND === 'http1') {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello world');
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
} else {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('hello world');
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}
console.log(`listening ${port}`);
