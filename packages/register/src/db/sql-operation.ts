// db.operation.name of an SQL statement: its leading keyword from a bounded set, read without
// allocating. The statement text itself (and any value inlined in it) never leaves this file.

/** The statements' leading keywords mon names; any other is `_OTHER`. */
export const SQL_OPERATIONS: readonly string[] = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CALL', 'DO', 'WITH', 'VALUES', 'TABLE',
  'BEGIN', 'START', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'XA', 'LOCK', 'UNLOCK',
  'SET', 'SHOW', 'USE', 'DESCRIBE', 'DESC', 'EXPLAIN', 'HELP',
  'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME', 'GRANT', 'REVOKE',
  'LOAD', 'PREPARE', 'EXECUTE', 'DEALLOCATE', 'HANDLER',
  'ANALYZE', 'OPTIMIZE', 'CHECK', 'CHECKSUM', 'REPAIR', 'FLUSH', 'KILL', 'RESET', 'PURGE', 'INSTALL', 'UNINSTALL',
];

/** Keywords are at most this long ('DEALLOCATE', 'UNINSTALL'); a longer word is `_OTHER` unread. */
const MAX_KEYWORD = 10;

/**
 * A keyword as a number: base 27 over its letters, case folded. 27^10 < 2^53, so it is exact, and
 * looking one up needs no string.
 */
function keywordCode(word: string): number {
  let code = 0;
  for (let i = 0; i < word.length; i++) code = code * 27 + ((word.charCodeAt(i) | 0x20) - 96);
  return code;
}

/**
 * Index into SQL_OPERATIONS for a statement, or SQL_OPERATIONS.length for `_OTHER`. Skips
 * whitespace, comments (`/* *\/`, `-- `, `#`) and opening parentheses before the keyword.
 */
export function sqlOperation(statement: unknown, codes: ReadonlyMap<number, number>, other: number): number {
  if (typeof statement !== 'string') return other;
  const length = statement.length;
  let i = 0;
  // Leading noise: bounded by the statement's length, each character looked at once.
  while (i < length) {
    const c = statement.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 40 /* ( */ || c === 59 /* ; */) {
      i++;
    } else if (c === 47 /* / */ && statement.charCodeAt(i + 1) === 42 /* * */) {
      const close = statement.indexOf('*/', i + 2);
      if (close === -1) return other;
      i = close + 2;
    } else if (c === 35 /* # */ || (c === 45 /* - */ && statement.charCodeAt(i + 1) === 45)) {
      const newline = statement.indexOf('\n', i);
      if (newline === -1) return other;
      i = newline + 1;
    } else {
      break;
    }
  }
  let code = 0;
  let letters = 0;
  while (i < length) {
    const c = statement.charCodeAt(i) | 0x20;
    if (c < 97 || c > 122) break;
    if (++letters > MAX_KEYWORD) return other;
    code = code * 27 + (c - 96);
    i++;
  }
  return letters === 0 ? other : (codes.get(code) ?? other);
}

/** keywordCode -> index, for sqlOperation. */
export const SQL_CODES: ReadonlyMap<number, number> = new Map(SQL_OPERATIONS.map((word, i) => [keywordCode(word), i]));
