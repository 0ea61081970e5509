// A plain node:http app. Nothing in it knows about mon: `node --import @mon/register server.mjs`.
import http from 'node:http';
import { metrics } from '@opentelemetry/api';

// A custom metric through the OpenTelemetry API shows up on the same /metrics endpoint.
const orders = metrics.getMeter('example-shop').createCounter('shop.orders', { description: 'Orders placed.', unit: '{order}' });

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/') return res.end('hello\n');
  if (url.pathname === '/order') {
    orders.add(1, { 'shop.payment': url.searchParams.get('pay') === 'card' ? 'card' : 'cash' });
    return res.end('ordered\n');
  }
  if (url.pathname === '/checkout') {
    // An outgoing call (to this same app, standing in for a payment service): mon records it as
    // http.client.request.duration, by the host called.
    return fetch(`http://127.0.0.1:${server.address().port}/order?pay=card`)
      .then((reply) => reply.text())
      .then(
        () => res.end('checked out\n'),
        () => {
          res.statusCode = 502;
          res.end('payment failed\n');
        },
      );
  }
  if (url.pathname === '/fail') {
    res.statusCode = 500;
    return res.end('failed\n');
  }
  if (url.pathname === '/slow') {
    // Bounded so a caller cannot park the server: at most 10 s.
    const ms = Math.min(Number(url.searchParams.get('ms')) || 100, 10_000);
    return setTimeout(() => res.end('slow\n'), ms);
  }
  if (url.pathname === '/busy') {
    // Holds the event loop, as CPU-bound work does (a synchronous parse of a huge body, a slow
    // regex): every other request, and mon's own /metrics, waits meanwhile. At most 1 s.
    const until = Date.now() + Math.min(Number(url.searchParams.get('ms')) || 100, 1_000);
    while (Date.now() < until);
    return res.end('busy\n');
  }
  if (url.pathname.startsWith('/users/')) return res.end(JSON.stringify({ id: url.pathname.slice(7) }));
  res.statusCode = 404;
  res.end('not found\n');
});

const port = Number(process.env.PORT ?? 8080);
server.listen(port, () => {
  console.log(`listening ${server.address().port}`);
  console.log(`app:     http://localhost:${server.address().port}/`);
  console.log(`metrics: http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/metrics`);
  console.log(`live:    http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/`);
});
