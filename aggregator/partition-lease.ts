import { deleteHeldKey, extendHeldKey } from '../core/held-key.js';
import type { Redis } from '../core/redis.js';

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
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly workerId: string, private readonly leaseMs: number) {}

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
