import { describe, expect, it } from 'vitest';
import { REDIS_OPERATIONS, redisOperation, redisReplyPrefix } from '../../src/db/redis-operation.js';

const name = (command: unknown): string => REDIS_OPERATIONS[redisOperation(command)] ?? '_OTHER';

describe('redisOperation', () => {
  it('names known commands, upper-cased, from any spelling', () => {
    expect(name('GET')).toBe('GET');
    expect(name('get')).toBe('GET');
    expect(name('Get')).toBe('GET');
    expect(name('zrangebyscore')).toBe('ZRANGEBYSCORE');
    expect(name('EVALSHA_RO')).toBe('EVALSHA_RO');
    expect(name('PIPELINE')).toBe('PIPELINE');
  });

  it('says _OTHER for unknown commands, module commands, keys and non-strings', () => {
    expect(name('JSON.GET')).toBe('_OTHER');
    expect(name('session:hunter2')).toBe('_OTHER');
    expect(name('x'.repeat(1000))).toBe('_OTHER');
    expect(name(undefined)).toBe('_OTHER');
    expect(name(42)).toBe('_OTHER');
  });

  it('has each command once', () => {
    expect(new Set(REDIS_OPERATIONS).size).toBe(REDIS_OPERATIONS.length);
  });
});

describe('redisReplyPrefix', () => {
  it("takes an error reply's prefix, never the rest of its text", () => {
    expect(redisReplyPrefix(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe('WRONGTYPE');
    expect(redisReplyPrefix(new Error('ERR value is not an integer or out of range'))).toBe('ERR');
    expect(redisReplyPrefix(new Error('NOSCRIPT No matching script.'))).toBe('NOSCRIPT');
    expect(redisReplyPrefix(new Error('MOVED 3999 127.0.0.1:6381'))).toBe('MOVED');
    expect(redisReplyPrefix(new Error('LOADING'))).toBe('LOADING');
  });

  it('says nothing for errors that are not replies: a code, a sentence, a lower-case or overlong word', () => {
    expect(redisReplyPrefix(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(redisReplyPrefix(new Error('Connection is closed.'))).toBeUndefined();
    expect(redisReplyPrefix(new Error('hunter2 secret'))).toBeUndefined();
    expect(redisReplyPrefix(new Error(`${'A'.repeat(40)} x`))).toBeUndefined();
    expect(redisReplyPrefix({ message: 42 })).toBeUndefined();
  });
});
