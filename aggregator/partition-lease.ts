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

/** KEYS[1] the lease; ARGV[1] the holder's value, ARGV[2] lease ms. Returns 1 when still held and extended. */
const RENEW_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS[1] the lease; ARGV[1] the holder's value. Deletes it only if still ours. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type LeaseRedis = Redis & {
  sbLeaseAcquire(lease: string, fence: string, worker: string, ms: number): Promise<number>;
  sbLeaseRenew(lease: string, value: string, ms: number): Promise<number>;
  sbLeaseRelease(lease: string, value: string): Promise<number>;
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
    redis.defineCommand('sbLeaseRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand('sbLeaseRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.redis = redis as LeaseRedis;
  }

  private leaseKey(partition: number): string {
    return `${this.prefix}:lease:{p${partition}}`;
  }

  private value(lease: Lease): string {
    return `${this.workerId}:${lease.fence}`;
  }

  async acquire(partition: number): Promise<Lease | undefined> {
    const fence = await this.redis.sbLeaseAcquire(this.leaseKey(partition), `${this.prefix}:fence:{p${partition}}`, this.workerId, this.leaseMs);
    return fence === 0 ? undefined : { partition, fence };
  }

  async renew(lease: Lease): Promise<boolean> {
    return (await this.redis.sbLeaseRenew(this.leaseKey(lease.partition), this.value(lease), this.leaseMs)) === 1;
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.sbLeaseRelease(this.leaseKey(lease.partition), this.value(lease));
  }
}
