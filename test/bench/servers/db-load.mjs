// The database bench's load (db.mjs): one driver, one connection, OPS operations awaited one after
// the other against the server on DB_PORT, measured in process: CPU (process.cpuUsage) and the JS
// heap bytes allocated (per heap space, summed over the GCs of the window by v8.GCProfiler, as
// gc-window.mjs does). Prints one line: `db-load {"ops":…,"cpuMicros":…,"bytes":…}`.
//   node [--import @mon/register | --import ./db-floor.mjs] db-load.mjs <ioredis|node-redis|mysql2> <ops>
import v8 from 'node:v8';

const [driver, opsArg] = process.argv.slice(2);
const OPS = Number(opsArg);
const PORT = Number(process.env.DB_PORT);
const WARM = Math.min(5_000, OPS);

async function client() {
  if (driver === 'ioredis') {
    const Redis = (await import('ioredis')).default;
    const redis = new Redis({ host: '127.0.0.1', port: PORT, lazyConnect: true });
    await redis.connect();
    await redis.set('bench:key', 'value');
    return { op: () => redis.get('bench:key'), close: () => redis.quit() };
  }
  if (driver === 'node-redis') {
    const { createClient } = await import('redis');
    const redis = createClient({ socket: { host: '127.0.0.1', port: PORT } });
    await redis.connect();
    await redis.set('bench:key', 'value');
    return { op: () => redis.get('bench:key'), close: () => redis.quit() };
  }
  if (driver === 'mysql2') {
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: PORT, user: 'root' });
    return { op: () => conn.query('SELECT 1'), close: () => conn.end() };
  }
  throw new Error(`unknown driver ${driver}`);
}

const used = (spaces) => Object.fromEntries(spaces.map((s) => [s.space_name ?? s.spaceName, s.space_used_size ?? s.spaceUsedSize]));

const { op, close } = await client();
for (let i = 0; i < WARM; i++) await op();
const profiler = new v8.GCProfiler();
const startSpaces = used(v8.getHeapSpaceStatistics());
profiler.start();
const cpu = process.cpuUsage();
for (let i = 0; i < OPS; i++) await op();
const { user, system } = process.cpuUsage(cpu);
const endSpaces = used(v8.getHeapSpaceStatistics());
const { statistics } = profiler.stop();
let bytes = 0;
let previous = startSpaces;
for (const gc of statistics) {
  const before = used(gc.beforeGC.heapSpaceStatistics);
  for (const space in before) bytes += before[space] - (previous[space] ?? 0);
  previous = used(gc.afterGC.heapSpaceStatistics);
}
for (const space in endSpaces) bytes += endSpaces[space] - (previous[space] ?? 0);
await close();
console.log(`db-load ${JSON.stringify({ ops: OPS, cpuMicros: user + system, bytes })}`);
