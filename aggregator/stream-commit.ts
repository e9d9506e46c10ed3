import { AGGREGATOR_GROUP, countsKey, streamKey } from '../model/event-stream.js';
import type { Redis } from '../core/redis.js';

/** Tells Redis a batch is committed: consumer position, backpressure counter, trimming. */
export class StreamCommitter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  async commit(partition: number, entryId: string, consumed: number): Promise<void> {
    await this.redis.sbStreamCommit(streamKey(this.prefix, partition), countsKey(this.prefix, partition), AGGREGATOR_GROUP, entryId, consumed);
  }

}
