// The express hello world, for the express peer (prom-client + express-prom-bundle, see
// express-prom.mjs) and for mon on the same framework. Like hello.mjs, nothing in it knows about
// metrics.
import express from 'express';

const app = express();
app.get('/', (req, res) => {
  res.type('text/plain').send('hello world\n');
});

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
