// mysql2 (since a release between 3.15 and 3.20; tested with 3.26.1) publishes its work on
// tracing channels (lib/tracing.js): `mysql2:query` and `mysql2:execute` per statement (context:
// query, values, database, serverAddress, serverPort), `mysql2:connect` per connection handshake
// (its answer is the server's handshake packet), and `mysql2:pool:connect` per
// pool.getConnection(), which pool.query() and pool.execute() call too. Older versions publish
// nothing, so nothing is counted.
import { CREATE, OPERATION, WAIT, type DbMetrics } from './db-metrics.js';
import { SQL_CODES, SQL_OPERATIONS, sqlOperation } from './sql-operation.js';
import type { TracedChannel } from './traced.js';

interface StatementContext {
  query?: unknown;
}

interface ConnectContext {
  serverAddress?: unknown;
  serverPort?: unknown;
  result?: { serverVersion?: unknown } | null;
}

const OTHER_STATEMENT = SQL_OPERATIONS.length;
const statement = (context: StatementContext): number => sqlOperation(context.query, SQL_CODES, OTHER_STATEMENT);

/**
 * MariaDB speaks the MySQL protocol; its handshake's server version says which it is
 * (`5.5.5-10.11.6-MariaDB-0+deb12u1`). Operations on that server are `mariadb` from then on.
 */
function handshake(context: ConnectContext, metrics: DbMetrics): void {
  const version = context.result?.serverVersion;
  if (typeof version === 'string' && version.includes('MariaDB')) metrics.markMariaDb(context.serverAddress, context.serverPort);
}

export const MYSQL2_CHANNELS: readonly TracedChannel[] = [
  { name: 'mysql2:query', family: 'sql', kind: OPERATION, operation: statement },
  { name: 'mysql2:execute', family: 'sql', kind: OPERATION, operation: statement },
  { name: 'mysql2:connect', family: 'sql', kind: CREATE, answered: handshake },
  { name: 'mysql2:pool:connect', family: 'sql', kind: WAIT },
];
