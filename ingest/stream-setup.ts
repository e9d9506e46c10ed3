import { AGGREGATOR_GROUP, allPartitions, streamKey } from '../model/event-stream.js';
import type { Redis } from '../core/redis.js';

/** Creates each partition stream with the aggregator's consumer group at its start; existing ones are kept. */
export async function ensureStreams(redis: Redis, prefix: string, partitions: number): Promise<void> {
  await Promise.all(allPartitions(partitions).map((p) => redis.sbStreamEnsureGroup(streamKey(prefix, p), AGGREGATOR_GROUP)));
}
