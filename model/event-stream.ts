import type { Cluster, Redis } from 'ioredis';

/**
 * The contract between ingest (writer) and the aggregator (reader) for the
 * partitioned Redis event streams.
 *
 * Keys, one set per partition, sharing the hash tag `{p<N>}` so a partition lives in
 * one Redis Cluster slot and its multi-key scripts stay legal:
 *   <prefix>:events:{p<N>}   the stream; one entry per ingest flush and partition
 *   <prefix>:counts:{p<N>}   hash: `added` (events appended) and `consumed` (events
 *                             the aggregator has committed); ingest's backpressure
 *                             reads `added - consumed`
 * Entry fields: `v` format version ("1"), `n` event count, `d` a JSON array of
 * StampedEvent. Packing one flush's events into one entry keeps XADD off the per-event path.
 */
export const STREAM_FORMAT_VERSION = '1';
export const AGGREGATOR_GROUP = 'aggregator';

export interface StampedEvent {
  eventId: string;
  projectId: string;
  event: string;
  userId?: string;
  anonymousId?: string;
  /** When it happened, epoch ms (the client's timestamp, else receivedAt). */
  timestamp: number;
  /** When ingest accepted it, epoch ms. */
  receivedAt: number;
  properties?: Record<string, unknown>;
  context: Record<string, unknown>;
  /** Set when ingest made the eventId (the client sent none): no retry can repeat it. */
  generated?: true;
  /**
   * Breakdown dimensions whose value was new to the project when it already had
   * INGEST_MAX_DIMENSION_VALUES_PER_DAY of them that day: counted as "(other)"
   * (model/breakdown-values.ts). Decided at ingest, so every count of the raw event agrees.
   */
  overflow?: string[];
}

export function streamKey(prefix: string, partition: number): string {
  return `${prefix}:events:{p${partition}}`;
}

export function countsKey(prefix: string, partition: number): string {
  return `${prefix}:counts:{p${partition}}`;
}

/**
 * FNV-1a over project and user: one user's events always share a partition, so
 * they stay in order relative to each other.
 */
export function partitionFor(projectId: string, distinctId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  const key = `${projectId}\u0000${distinctId}`;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

function entryField(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The event count an entry's header declares (fields as XRANGE returns them: [name, value, ...]). */
export function entryEventCount(fields: readonly string[]): number {
  return Number(entryField(fields, 'n') ?? 0);
}

/** The length of an entry's events as JSON (characters: a lower bound of their bytes). */
export function entryEventChars(fields: readonly string[]): number {
  return entryField(fields, 'd')?.length ?? 0;
}

/** Decodes one stream entry's fields (as XRANGE returns them: a flat [name, value, ...] list). */
export function decodeEntry(fields: readonly string[]): StampedEvent[] {
  const version = entryField(fields, 'v');
  if (version !== STREAM_FORMAT_VERSION) throw new Error(`unknown stream entry format version ${String(version)}`);
  const events = JSON.parse(entryField(fields, 'd') ?? '[]') as StampedEvent[];
  if (events.length !== entryEventCount(fields)) throw new Error(`stream entry holds ${events.length} events, header says ${entryField(fields, 'n')}`);
  return events;
}

/** Events appended to each partition and not yet committed by the aggregator (`added - consumed`). */
export async function unconsumedEvents(redis: Redis | Cluster, prefix: string, partitions: readonly number[]): Promise<number[]> {
  // One command per partition, not one pipeline: a cluster holds the partitions on
  // several nodes and refuses a pipeline that spans them (auto-pipelining batches them per node).
  const counts = await Promise.all(partitions.map((p) => redis.hmget(countsKey(prefix, p), 'added', 'consumed')));
  return counts.map(([added, consumed]) => Math.max(0, Number(added ?? 0) - Number(consumed ?? 0)));
}

export function allPartitions(partitions: number): number[] {
  return Array.from({ length: partitions }, (_, p) => p);
}
