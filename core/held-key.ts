import type { Redis } from './redis.js';

/** Keys held by one owner at a time (leases, pauses, leaders): changed only by whoever still holds them. */

/** KEYS[1] the key; ARGV[1] the holder's value, ARGV[2] ms. Returns 1 when still held and extended. */
const RENEW_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS[1] the key; ARGV[1] the holder's value. Deletes it only if still ours. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Extends `key` by `ms` if it still holds `value` (a lease, the recompute's pause); true when it did. */
export async function extendHeldKey(redis: Redis, key: string, value: string, ms: number): Promise<boolean> {
  return (await redis.eval(RENEW_LUA, 1, key, value, ms)) === 1;
}

/** Deletes `key` only if it still holds `value`. */
export async function deleteHeldKey(redis: Redis, key: string, value: string): Promise<void> {
  await redis.eval(RELEASE_LUA, 1, key, value);
}
