// The prom-client peer: the same express hello world as express.mjs, with express-prom-bundle's
// middleware as its README sets it up (`promBundle({ includeMethod: true })`), so /metrics is served
// by the app itself, on the app's port, and `http_request_duration_seconds` is labelled with method,
// status code and (off by default) path.
import express from 'express';
import promBundle from 'express-prom-bundle';

const app = express();
app.use(promBundle({ includeMethod: true }));
app.get('/', (req, res) => {
  res.type('text/plain').send('hello world\n');
});

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
