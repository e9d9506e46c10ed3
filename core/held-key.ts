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

/** What `HeldKey.hold` found: kept (ours, extended), taken (was free), lost (was ours, is not), busy (another owner's). */
export type HoldOutcome = 'kept' | 'taken' | 'lost' | 'busy';

/**
 * A key one owner holds at a time, for `ms` unless extended: the alerts leader, the
 * single writing aggregator, a recompute's pause. Taken with SET NX, kept only by its
 * holder, given back on release.
 */
export class HeldKey {
  private holding = false;

  constructor(private readonly redis: Redis, readonly key: string, readonly owner: string, private readonly ms: number) {}

  get held(): boolean {
    return this.holding;
  }

  /** Extends the key when this owner holds it, else takes it when free. */
  async hold(): Promise<HoldOutcome> {
    if (this.holding) return (await this.extend()) ? 'kept' : 'lost';
    this.holding = (await this.redis.set(this.key, this.owner, 'PX', this.ms, 'NX')) === 'OK';
    return this.holding ? 'taken' : 'busy';
  }

  /** Extends the key if this owner still holds it; false (and no longer held) when it does not. */
  async extend(): Promise<boolean> {
    if (!this.holding) return false;
    this.holding = await extendHeldKey(this.redis, this.key, this.owner, this.ms);
    return this.holding;
  }

  /** Gives the key back if this owner still holds it. */
  async release(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    await deleteHeldKey(this.redis, this.key, this.owner);
  }
}
