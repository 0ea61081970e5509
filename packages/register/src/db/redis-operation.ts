// db.operation.name of a Redis command (the command's name, from a bounded set of Redis' own
// commands) and error.type of a failed one (the error reply's prefix). Keys and arguments never
// leave this file; they are not even read.

/** Redis' commands (7.x core), plus PIPELINE, the name of a pipeline sent as one batch. */
export const REDIS_OPERATIONS: readonly string[] = `APPEND AUTH BGREWRITEAOF BGSAVE BITCOUNT BITFIELD BITFIELD_RO BITOP BITPOS
BLMOVE BLMPOP BLPOP BRPOP BRPOPLPUSH BZMPOP BZPOPMAX BZPOPMIN CLIENT CLUSTER COMMAND CONFIG COPY DBSIZE DECR DECRBY
DEL DISCARD DUMP ECHO EVAL EVALSHA EVALSHA_RO EVAL_RO EXEC EXISTS EXPIRE EXPIREAT EXPIRETIME FAILOVER FCALL FCALL_RO
FLUSHALL FLUSHDB FUNCTION GEOADD GEODIST GEOHASH GEOPOS GEORADIUS GEORADIUSBYMEMBER GEOSEARCH GEOSEARCHSTORE GET
GETBIT GETDEL GETEX GETRANGE GETSET HDEL HELLO HEXISTS HEXPIRE HEXPIREAT HGET HGETALL HGETDEL HGETEX HINCRBY
HINCRBYFLOAT HKEYS HLEN HMGET HMSET HPERSIST HPEXPIRE HPTTL HRANDFIELD HSCAN HSET HSETEX HSETNX HSTRLEN HTTL HVALS
INCR INCRBY INCRBYFLOAT INFO KEYS LASTSAVE LATENCY LCS LINDEX LINSERT LLEN LMOVE LMPOP LOLWUT LPOS LPOP LPUSH LPUSHX
LRANGE LREM LSET LTRIM MEMORY MGET MIGRATE MODULE MONITOR MOVE MSET MSETNX MULTI OBJECT PERSIST PEXPIRE PEXPIREAT
PEXPIRETIME PFADD PFCOUNT PFMERGE PING PSETEX PSUBSCRIBE PTTL PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY READONLY
READWRITE RENAME RENAMENX REPLICAOF RESET RESTORE ROLE RPOP RPOPLPUSH RPUSH RPUSHX SADD SAVE SCAN SCARD SCRIPT
SDIFF SDIFFSTORE SELECT SET SETBIT SETEX SETNX SETRANGE SHUTDOWN SINTER SINTERCARD SINTERSTORE SISMEMBER SLOWLOG
SMEMBERS SMISMEMBER SMOVE SORT SORT_RO SPOP SPUBLISH SRANDMEMBER SREM SSCAN SSUBSCRIBE STRLEN SUBSCRIBE SUNION
SUNIONSTORE SUNSUBSCRIBE SWAPDB SYNC TIME TOUCH TTL TYPE UNLINK UNSUBSCRIBE UNWATCH WAIT WAITAOF WATCH XACK XADD
XAUTOCLAIM XCLAIM XDEL XGROUP XINFO XLEN XPENDING XRANGE XREAD XREADGROUP XREVRANGE XSETID XTRIM ZADD ZCARD ZCOUNT
ZDIFF ZDIFFSTORE ZINCRBY ZINTER ZINTERCARD ZINTERSTORE ZLEXCOUNT ZMPOP ZMSCORE ZPOPMAX ZPOPMIN ZRANDMEMBER ZRANGE
ZRANGEBYLEX ZRANGEBYSCORE ZRANGESTORE ZRANK ZREM ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREVRANGE
ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE ZUNION ZUNIONSTORE PIPELINE`.split(/\s+/);

/**
 * name -> index, upper and lower case both: node-redis publishes `GET`, ioredis the caller's
 * spelling (`get` from its methods), so the usual spellings cost one lookup and no new string.
 */
export const REDIS_CODES: ReadonlyMap<string, number> = new Map(
  REDIS_OPERATIONS.flatMap((name, i) => [
    [name, i],
    [name.toLowerCase(), i],
  ]),
);

/** Index into REDIS_OPERATIONS, or REDIS_OPERATIONS.length for `_OTHER`. */
export function redisOperation(command: unknown): number {
  const other = REDIS_OPERATIONS.length;
  if (typeof command !== 'string') return other;
  const known = REDIS_CODES.get(command);
  if (known !== undefined) return known;
  // A mixed-case spelling (`client.call('Get')`): rare, so the new string is fine here.
  return command.length <= 20 ? (REDIS_CODES.get(command.toUpperCase()) ?? other) : other;
}

/** An error reply's prefix, as Redis writes them: ERR, WRONGTYPE, NOSCRIPT, CLUSTERDOWN, MOVED... */
const REPLY_PREFIX = /^([A-Z][A-Z_]{1,31})(?: |$)/;

/**
 * The prefix of a Redis error reply (db.response.status_code in the Redis conventions, and so
 * error.type), or undefined when `error` is not one. ioredis' ReplyError and node-redis'
 * ErrorReply carry the server's text as their message and no code.
 */
export function redisReplyPrefix(error: { message?: unknown; code?: unknown }): string | undefined {
  if (error.code !== undefined || typeof error.message !== 'string') return undefined;
  return REPLY_PREFIX.exec(error.message)?.[1];
}
