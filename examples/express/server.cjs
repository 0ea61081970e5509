// An Express 5 app with routers. Nothing in it knows about mon: `node --import @mon/register server.cjs`.
const express = require('express');

const app = express();
const users = express.Router();
users.get('/:id', (req, res) => res.json({ id: req.params.id }));
app.use('/api/users', users);
app.get('/', (req, res) => res.send('hello\n'));
app.get('/fail', (req, res) => res.status(500).send('failed\n'));
app.get('/throw', () => {
  throw new Error('boom');
});
app.get('/slow', (req, res) => {
  const ms = Math.min(Number(req.query.ms) || 100, 10_000);
  setTimeout(() => res.send('slow\n'), ms);
});

const port = Number(process.env.PORT ?? 8080);
const server = app.listen(port, () => {
  console.log(`listening ${server.address().port}`);
  console.log(`app:     http://localhost:${server.address().port}/`);
  console.log(`metrics: http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/metrics`);
  console.log(`live:    http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/`);
});
