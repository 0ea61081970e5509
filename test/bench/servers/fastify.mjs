// The Fastify hello world, for instructions.mjs: a framework whose routes come from its own
// diagnostics channel rather than from req.route. Like hello.mjs, nothing in it knows about metrics.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async (request, reply) => {
  reply.type('text/plain');
  return 'hello world\n';
});

await app.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' });
console.log(`listening ${app.server.address().port}`);
