import type { Redis } from './redis.js';

/** Keys held by one owner at a time (leases, pauses, leaders): changed only by whoever still holds them. */

/** Extends `key` by `ms` if it still holds `value` (a lease, the recompute's pause); true when it did. */
export async function extendHeldKey(redis: Redis, key: string, value: string, ms: number): Promise<boolean> {
  return (await redis.sbHeldKeyExtend(key, value, ms)) === 1;
}

/** Deletes `key` only if it still holds `value`. */
export async function deleteHeldKey(redis: Redis, key: string, value: string): Promise<void> {
  await redis.sbHeldKeyDelete(key, value);
}
