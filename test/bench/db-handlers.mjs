// mon's own CPU per database operation, without a driver or a server: one million synthetic
// operations published on node-redis:command as tracePromise does (start, end, asyncStart,
// asyncEnd, each with a fresh context), first with do-nothing subscribers (Node's own cost of
// publishing to a subscriber: the floor), then with mon's handlers (packages/register/dist/db).
// What db.mjs cannot tell apart from its noise on a busy machine: mon's handlers alone, in ns.
//
//   npm run build && node test/bench/db-handlers.mjs [--rounds 5]
import dc from 'node:diagnostics_channel';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { delta, fixed, load, machine, median } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { DbMetrics, instrumentDatabases } = await import(pathToFileURL(path.join(here, '..', '..', 'packages', 'register', 'dist', 'db', 'index.js')).href);
const at = process.argv.indexOf('--rounds');
const rounds = at === -1 ? 5 : Number(process.argv[at + 1]);
const N = 1_000_000;
const channel = dc.tracingChannel('node-redis:command');

/** CPU ns per operation over N operations. */
function run() {
  const before = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const context = { command: 'GET', args: ['GET', 'key'], database: 0, serverAddress: '127.0.0.1', serverPort: 6379, clientId: 'bench' };
    channel.start.publish(context);
    channel.end.publish(context);
    channel.asyncStart.publish(context);
    channel.asyncEnd.publish(context);
  }
  const { user, system } = process.cpuUsage(before);
  return ((user + system) * 1000) / N;
}

/** CPU ns per iteration of `body` over N iterations, after one warm-up pass. */
function alone(body) {
  body();
  const before = process.cpuUsage();
  body();
  const { user, system } = process.cpuUsage(before);
  return ((user + system) * 1000) / N;
}
const weakMap = new WeakMap();
const clock = performance.now.bind(performance);
const parts = {
  'a WeakMap set/get/delete on a fresh object': () => {
    for (let i = 0; i < N; i++) {
      const key = { i };
      weakMap.set(key, 1.5);
      weakMap.get(key);
      weakMap.delete(key);
    }
  },
  'two performance.now()': () => {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += clock() - clock();
    return sum;
  },
};

const noop = () => {};
const floorHandlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
const floor = [];
const mon = [];
for (let round = 0; round < rounds; round++) {
  channel.subscribe(floorHandlers);
  run();
  floor.push(run());
  channel.unsubscribe(floorHandlers);
  const stop = instrumentDatabases(new DbMetrics());
  run();
  mon.push(run());
  stop();
}
const measuredParts = Object.entries(parts).map(([name, body]) => `${name} ${fixed(alone(body))} ns`);
console.log(
  `\`node test/bench/db-handlers.mjs --rounds ${rounds}\`: ${machine()}, load ${load()}. CPU per synthetic operation: floor (do-nothing subscribers) ${fixed(median(floor))} ns, mon's handlers ${fixed(median(mon))} ns, mon above the floor ${delta(mon.map((m, i) => m - floor[i]), 0)} ns. Its two largest parts, measured alone: ${measuredParts.join(', ')}.`,
);
