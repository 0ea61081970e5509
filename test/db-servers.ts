// Real database servers for end-to-end tests, from Debian's packages: redis-server and mariadbd,
// each started on a free loopback port with a temporary directory, stopped after. Without the
// binaries the tests skip with a message, unless MON_REQUIRE_DATABASES=1 (CI sets it), where
// they fail instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, sleep } from './helpers.js';

function which(binary: string): string | undefined {
  // mariadbd lives in /usr/sbin, which a non-root PATH may leave out.
  const found = spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${binary}`], { encoding: 'utf8' }).stdout.trim();
  return found || undefined;
}

export const redisBinary = which('redis-server');
export const mariadbBinary = which('mariadbd') ?? which('mysqld');
const required = process.env.MON_REQUIRE_DATABASES === '1';

/** Whether to skip tests that need the database servers. Logs why when skipping; throws when CI requires them. */
export function skipWithoutDatabases(): boolean {
  const missing = [redisBinary ? undefined : 'redis-server', mariadbBinary ? undefined : 'mariadbd'].filter(Boolean);
  if (missing.length === 0) return false;
  const why = `${missing.join(' and ')} not found (apt-get install -y redis-server mariadb-server)`;
  if (required) throw new Error(`MON_REQUIRE_DATABASES=1 but ${why}`);
  console.warn(`skipping the database tests: ${why}`);
  return true;
}

export interface DbServer {
  port: number;
  stop: () => Promise<void>;
}

async function portOpen(port: number): Promise<boolean> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await Promise.race([once(socket, 'connect'), sleep(1_000).then(() => Promise.reject(new Error('timeout')))]);
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** Spawns a server and waits (up to 60 s: the machine is shared) until its port accepts connections. */
async function startServer(name: string, args: (port: number, dir: string) => string[], binary: string): Promise<DbServer> {
  const dir = mkdtempSync(path.join(tmpdir(), `mon-${name}-`));
  const port = await freePort();
  const child: ChildProcess = spawn(binary, args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not start on port ${port}:\n${output}`);
    }
    await sleep(100);
  }
  return { port, stop };
}

/** `redis-server` on loopback, nothing persisted. */
export function startRedis(): Promise<DbServer> {
  return startServer('redis', (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], redisBinary!);
}

/**
 * `mariadbd` on loopback on an empty data directory: no mariadb-install-db (16 s here), no grant
 * tables (any user connects), InnoDB small and unsynced. Starts in about a second.
 */
export function startMariaDb(): Promise<DbServer> {
  return startServer(
    'mariadb',
    (port, dir) => {
      mkdirSync(path.join(dir, 'data'));
      return [
        '--no-defaults',
        `--datadir=${path.join(dir, 'data')}`,
        `--socket=${path.join(dir, 'sock')}`,
        `--pid-file=${path.join(dir, 'pid')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-grant-tables',
        '--skip-name-resolve',
        '--skip-log-bin',
        '--user=root',
        '--innodb-buffer-pool-size=16M',
        '--innodb-log-file-size=8M',
        '--innodb-flush-log-at-trx-commit=0',
      ];
    },
    mariadbBinary!,
  );
}
