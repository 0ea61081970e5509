// A Fastify 5 app with a prefixed plugin. Nothing in it knows about mon: `node --import @mon/register server.mjs`.
import Fastify from 'fastify';

const app = Fastify();
app.get('/', async () => 'hello\n');
app.get('/fail', async (req, reply) => reply.code(500).send('failed\n'));
app.register(
  async (api) => {
    api.get('/users/:id', async (req) => ({ id: req.params.id }));
    api.get('/orders/:id/items', async (req) => ({ order: req.params.id, items: [] }));
  },
  { prefix: '/api' },
);
app.get('/slow', async (req) => {
  const ms = Math.min(Number(req.query.ms) || 100, 10_000);
  await new Promise((r) => setTimeout(r, ms));
  return 'slow\n';
});

const port = Number(process.env.PORT ?? 8080);
await app.listen({ port, host: '127.0.0.1' });
console.log(`listening ${app.server.address().port}`);
console.log(`app:     http://localhost:${app.server.address().port}/`);
console.log(`metrics: http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/metrics`);
console.log(`live:    http://localhost:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464}/`);
