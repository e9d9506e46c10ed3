import { deleteHeldKey, extendHeldKey } from '../core/held-key.js';
import type { Redis } from '../core/redis.js';

/**
 * KEYS[1] the partition's lease, KEYS[2] its fencing counter.
 * ARGV[1] worker id, ARGV[2] lease ms.
 * Returns the new fencing token, or 0 when another worker holds the lease.
 */
const ACQUIRE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence`;

/** KEYS[1] the fencing counter; ARGV[1] a token already used. Raises the counter to it. */
const RAISE_FENCE_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

type LeaseRedis = Redis & {
  sbLeaseAcquire(lease: string, fence: string, worker: string, ms: number): Promise<number>;
  sbLeaseRaiseFence(fence: string, atLeast: number): Promise<number>;
};

export interface Lease {
  partition: number;
  fence: number;
}

/**
 * One worker per partition at a time: a lease in Redis that expires unless renewed,
 * and a fencing token that grows with every acquisition. MongoDB state writes carry
 * the token, so a worker that lost its lease (a long pause) cannot commit.
 * Keys share the partition's hash tag, so the scripts stay legal in Redis Cluster.
 */
export class PartitionLeases {
  private readonly redis: LeaseRedis;

  constructor(redis: Redis, private readonly prefix: string, private readonly workerId: string, private readonly leaseMs: number) {
    redis.defineCommand('sbLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
    redis.defineCommand('sbLeaseRaiseFence', { numberOfKeys: 1, lua: RAISE_FENCE_LUA });
    this.redis = redis as LeaseRedis;
  }

  private leaseKey(partition: number): string {
    return `${this.prefix}:lease:{p${partition}}`;
  }

  private value(lease: Lease): string {
    return `${this.workerId}:${lease.fence}`;
  }

  private fenceKey(partition: number): string {
    return `${this.prefix}:fence:{p${partition}}`;
  }

  async acquire(partition: number): Promise<Lease | undefined> {
    const fence = await this.redis.sbLeaseAcquire(this.leaseKey(partition), this.fenceKey(partition), this.workerId, this.leaseMs);
    return fence === 0 ? undefined : { partition, fence };
  }

  async renew(lease: Lease): Promise<boolean> {
    return extendHeldKey(this.redis, this.leaseKey(lease.partition), this.value(lease), this.leaseMs);
  }

  /**
   * After Redis lost its data the counter restarts below tokens MongoDB has already
   * seen, and every claim would fail: raise it past them.
   */
  async raiseFence(partition: number, atLeast: number): Promise<void> {
    await this.redis.sbLeaseRaiseFence(this.fenceKey(partition), atLeast);
  }

  async release(lease: Lease): Promise<void> {
    await deleteHeldKey(this.redis, this.leaseKey(lease.partition), this.value(lease));
  }
}
