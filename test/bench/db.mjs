// What mon costs per database call (issue 28): CPU and JS heap bytes per operation, bare vs mon, for
// each driver mon reads (ioredis GET, node-redis GET, mysql2 `SELECT 1`), against a real Redis and
// MariaDB started here on loopback (Debian's redis-server and mariadbd, as the tests use).
//
// Each round runs, for each driver, three processes (order rotated per round) of servers/db-load.mjs,
// which awaits --db-ops operations one after the other on one connection and measures itself:
//   bare   no preload;
//   floor  a preload that subscribes do-nothing handlers to the same tracing channels
//          (servers/db-floor.mjs): a driver builds its context objects only when someone listens,
//          so this is what any subscriber costs, driver-side;
//   mon    `--import @mon/register` with MON_METRICS=db: the database metrics alone, so that mon's
//          background work (event-loop and GC observers, see memory.mjs and soak.mjs) is not
//          charged to the operations; Prometheus endpoint on, never scraped.
// The figures are medians over the rounds of the paired differences to bare in the same round.
// CPU time is the process's own (process.cpuUsage), not wall time; the machine is shared, so the
// load average is printed with the table.
//
//   npm run build && node test/bench/db.mjs [--rounds 5] [--db-ops 20000] [--quick] [--save]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cleanEnv, freePort, spawnNode } from './lib/process.mjs';
import { delta, fixed, load, machine, median, progress, ratio, table } from './lib/report.mjs';
import { root } from './lib/variants.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOAD = path.join(here, 'servers', 'db-load.mjs');
const FLOOR = path.join(here, 'servers', 'db-floor.mjs');
const SECTION = '## Database calls';
const DRIVERS = ['ioredis', 'node-redis', 'mysql2'];
const VARIANTS = {
  bare: { nodeArgs: [] },
  floor: { nodeArgs: ['--import', FLOOR] },
  mon: { nodeArgs: ['--import', '@mon/register'], env: { MON_METRICS: 'db' } },
};

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const quick = args.includes('--quick');
const rounds = option('--rounds', quick ? 2 : 5);
const ops = option('--db-ops', quick ? 5_000 : 20_000);

function which(binary) {
  return spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${binary}`], { encoding: 'utf8' }).stdout.trim() || undefined;
}

async function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A server on a free loopback port with a temporary directory (same flags as test/db-servers.ts). */
async function startServer(binary, argsFor) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mon-bench-db-'));
  const port = await freePort();
  const child = spawn(binary, argsFor(port, dir), { cwd: dir, stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${binary} did not start`);
    await sleep(100);
  }
  return { port, stop: () => (child.kill('SIGKILL'), rmSync(dir, { recursive: true, force: true })) };
}

async function runLoad(driver, variant, port) {
  const metricsPort = await freePort();
  const env = cleanEnv({ DB_PORT: String(port), OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort), OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', ...VARIANTS[variant].env });
  const proc = spawnNode([...VARIANTS[variant].nodeArgs, LOAD, driver, String(ops)], { env, cwd: root });
  const code = await proc.exited;
  const line = /^db-load (\{.*\})$/m.exec(proc.stdout());
  if (code !== 0 || !line) throw new Error(`db-load ${driver} ${variant} failed (${code}): ${proc.stderr()}`);
  const { cpuMicros, bytes } = JSON.parse(line[1]);
  return { cpu: cpuMicros / ops, bytes: bytes / ops };
}

async function main() {
  const redisBinary = which('redis-server');
  const mariadbBinary = which('mariadbd') ?? which('mysqld');
  if (!redisBinary || !mariadbBinary) throw new Error('needs redis-server and mariadbd (apt-get install -y redis-server mariadb-server)');
  const redis = await startServer(redisBinary, (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const mariadb = await startServer(mariadbBinary, (port, dir) => {
    mkdirSync(path.join(dir, 'data'));
    return ['--no-defaults', `--datadir=${path.join(dir, 'data')}`, `--socket=${path.join(dir, 'sock')}`, `--pid-file=${path.join(dir, 'pid')}`,
      `--port=${port}`, '--bind-address=127.0.0.1', '--skip-grant-tables', '--skip-name-resolve', '--skip-log-bin', '--user=root',
      '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--innodb-flush-log-at-trx-commit=0'];
  });
  const results = Object.fromEntries(DRIVERS.map((d) => [d, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const driver of DRIVERS) {
        const port = driver === 'mysql2' ? mariadb.port : redis.port;
        const order = Object.keys(VARIANTS);
        for (let i = 0; i < round % order.length; i++) order.push(order.shift());
        const measured = {};
        for (const variant of order) measured[variant] = await runLoad(driver, variant, port);
        results[driver].push(measured);
        progress(`db: round ${round + 1}/${rounds} ${driver}: ${order.map((v) => `${v} ${measured[v].cpu.toFixed(1)} µs ${measured[v].bytes.toFixed(0)} B`).join(', ')}`);
      }
    }
  } finally {
    redis.stop();
    mariadb.stop();
  }
  const rows = DRIVERS.map((driver) => {
    const r = results[driver];
    const d = (variant, key) => r.map((m) => m[variant][key] - m.bare[key]);
    return [
      driver,
      fixed(median(r.map((m) => m.bare.cpu)), 1),
      delta(d('floor', 'cpu')),
      delta(d('mon', 'cpu')),
      ratio(r.map((m) => m.mon.cpu / m.bare.cpu)),
      fixed(median(r.map((m) => m.bare.bytes))),
      delta(d('floor', 'bytes'), 0),
      delta(d('mon', 'bytes'), 0),
      delta(r.map((m) => m.mon.bytes - m.floor.bytes), 0),
    ];
  });
  const markdown = [
    SECTION,
    '',
    `\`node test/bench/db.mjs${args.filter((a) => a !== '--save').map((a) => ` ${a}`).join('')}\` on ${new Date().toISOString().slice(0, 10)}. ${machine()}. Load average ${load()} at the end. ${rounds} rounds × ${ops} operations per process, awaited one after the other on one connection (ioredis and node-redis: GET against redis-server; mysql2: \`SELECT 1\` against mariadbd; loopback). Per operation: CPU µs (user + system of the process) and JS heap bytes allocated; Δ: median of paired differences to bare (range). floor: do-nothing subscribers on the same tracing channels, what the driver itself does once anyone listens; mon: MON_METRICS=db.`,
    '',
    table(
      ['driver', 'bare CPU µs/op', 'floor Δ µs', 'mon Δ µs', 'mon CPU × bare', 'bare B/op', 'floor Δ B', 'mon Δ B', 'mon above floor B'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  ].join('\n');
  console.log(markdown);
  if (args.includes('--save')) {
    // Into its own section of RESULTS.md, replaced on each --save, as cluster-push.mjs does.
    const file = path.join(here, 'RESULTS.md');
    const current = readFileSync(file, 'utf8');
    const start = current.indexOf(`${SECTION}\n`);
    const end = start === -1 ? -1 : current.indexOf('\n## ', start + 1);
    const next = start === -1 ? `${current.trimEnd()}\n\n${markdown}` : `${current.slice(0, start)}${markdown}${end === -1 ? '' : current.slice(end)}`;
    writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
    progress(`db: wrote the section into ${path.relative(process.cwd(), file)}`);
  }
}

await main();
