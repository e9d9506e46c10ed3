import { Redis, type RedisOptions } from 'ioredis';
import { defineScripts } from './redis-scripts.js';

export type { Redis };

/**
 * One ioredis connection. Commands fail at once while Redis is unreachable
 * (no offline queue, no resend of unanswered commands) and after `commandTimeout`
 * when Redis stalls, so callers answer 503 instead of holding requests, and never
 * learn of success they can't prove. Every script of core/redis-scripts.ts is defined on it.
 */
export function createRedis(url: string, name: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: `signalboard:${name}`,
    commandTimeout: 3000,
    keepAlive: 10_000,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    lazyConnect: false,
    ...options,
  });
  defineScripts(redis);
  return redis;
}

export function redisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** Deletes every key under `<prefix>:` (tests and benchmarks clean up with it). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
