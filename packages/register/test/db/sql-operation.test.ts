import { describe, expect, it } from 'vitest';
import { SQL_CODES, SQL_OPERATIONS, sqlOperation } from '../../src/db/sql-operation.js';

const OTHER = SQL_OPERATIONS.length;
const name = (statement: unknown): string => SQL_OPERATIONS[sqlOperation(statement, SQL_CODES, OTHER)] ?? '_OTHER';

describe('sqlOperation', () => {
  it('names the leading keyword, whatever its case', () => {
    expect(name('SELECT 1')).toBe('SELECT');
    expect(name('select * from t')).toBe('SELECT');
    expect(name('InSeRt INTO t VALUES (1)')).toBe('INSERT');
    expect(name('update t set a = 1')).toBe('UPDATE');
    expect(name('DELETE FROM t')).toBe('DELETE');
    expect(name('REPLACE INTO t VALUES (1)')).toBe('REPLACE');
    expect(name('CALL proc(1)')).toBe('CALL');
    expect(name('START TRANSACTION')).toBe('START');
    expect(name('COMMIT')).toBe('COMMIT');
    expect(name('DEALLOCATE PREPARE s')).toBe('DEALLOCATE');
    expect(name('with x as (select 1) select * from x')).toBe('WITH');
  });

  it('skips whitespace, comments and opening parentheses before it', () => {
    expect(name('  \n\t SELECT 1')).toBe('SELECT');
    expect(name('/* a comment with SELECT */ UPDATE t SET a = 1')).toBe('UPDATE');
    expect(name('-- note\nDELETE FROM t')).toBe('DELETE');
    expect(name('# note\nINSERT INTO t VALUES (1)')).toBe('INSERT');
    expect(name('((SELECT 1) UNION (SELECT 2))')).toBe('SELECT');
  });

  it('says _OTHER for anything else: unknown words, text, no keyword, unclosed comments, non-strings', () => {
    expect(name('SELEC 1')).toBe('_OTHER');
    expect(name('SELECTION')).toBe('_OTHER');
    expect(name('hunter2 is the password')).toBe('_OTHER');
    expect(name('averyveryverylongwordindeed')).toBe('_OTHER');
    expect(name('')).toBe('_OTHER');
    expect(name('   ')).toBe('_OTHER');
    expect(name('/* never closed SELECT')).toBe('_OTHER');
    expect(name('-- only a comment')).toBe('_OTHER');
    expect(name('1 + 1')).toBe('_OTHER');
    expect(name(undefined)).toBe('_OTHER');
    expect(name({ sql: 'SELECT 1' })).toBe('_OTHER');
  });

  it('stops at the first non-letter, so a keyword glued to punctuation is still found', () => {
    expect(name('SELECT*FROM t')).toBe('SELECT');
    expect(name('BEGIN;')).toBe('BEGIN');
  });

  it('has no two keywords with the same code', () => {
    expect(SQL_CODES.size).toBe(SQL_OPERATIONS.length);
  });
});
