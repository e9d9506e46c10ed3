import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from '../core/collections.js';
import { UPDATES_PER_COMMAND } from '../core/mongo.js';

/** A batch whose writes may have begun: replays must cover exactly these entries. */
export interface InflightBatch {
  seq: number;
  /** Exclusive: the position before the batch. */
  from: string;
  /** Inclusive: the batch's last entry id. */
  to: string;
  /** Events in the batch's entries. */
  events: number;
}

export interface PartitionState {
  _id: number;
  fence: number;
  /** Last stream entry id whose events are in MongoDB. */
  committed: string;
  /** Number of the last committed batch. */
  seq: number;
  /** Events in all committed batches: what Redis's `consumed` counter must read. */
  consumed: number;
  inflight: InflightBatch | null;
}

/** A partition's batch as its lease holder writes it. */
export interface FencedBatch {
  partition: number;
  fence: number;
  batch: InflightBatch;
}

export interface CommittedBatch extends FencedBatch {
  /** Events in all committed batches, this one included. */
  consumed: number;
  /** The partition's next batch, begun with this commit (null: none yet). */
  next: InflightBatch | null;
}

/** The lease was lost: another worker holds a newer fencing token. */
export class LeaseLostError extends Error {
  constructor(partition: number) {
    super(`partition ${partition}: a newer lease holder took over`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Where each partition stands, in MongoDB next to the rollups it describes. Every write
 * is conditional on the writer's fencing token, so only the current lease holder moves
 * a partition forward.
 */
export class PartitionStates {
  private readonly states: Collection<PartitionState>;

  constructor(db: Db) {
    this.states = db.collection<PartitionState>(COLLECTIONS.partitions);
  }

  /** Takes over the partition's state with a fencing token; undefined when a newer token already holds it. */
  async claim(partition: number, fence: number): Promise<PartitionState | undefined> {
    await this.states.insertOne({ _id: partition, fence: 0, committed: '0-0', seq: 0, consumed: 0, inflight: null }).catch((err: { code?: number }) => {
      if (err.code !== 11000) throw err;
    });
    const claimed = await this.states.findOneAndUpdate({ _id: partition, fence: { $lt: fence } }, { $set: { fence } }, { returnDocument: 'after' });
    return claimed ?? undefined;
  }

  /** The fencing token that holds the partition now (0 when it was never claimed). */
  async fence(partition: number): Promise<number> {
    return (await this.states.findOne({ _id: partition }, { projection: { fence: 1 } }))?.fence ?? 0;
  }

  /** Records each batch as in flight; returns the partitions a newer fencing token holds (nothing was recorded for them). */
  async begin(batches: readonly FencedBatch[]): Promise<Set<number>> {
    return this.fencedUpdates(batches.map((b) => ({ ...b, set: { inflight: b.batch } })));
  }

  /** Records each batch as committed and its `next` as in flight; returns the partitions a newer fencing token holds (their batches stay in flight for it). */
  async commit(batches: readonly CommittedBatch[]): Promise<Set<number>> {
    return this.fencedUpdates(batches.map((b) => ({ ...b, set: { committed: b.batch.to, seq: b.batch.seq, consumed: b.consumed, inflight: b.next } })));
  }

  /** One command for all partitions of a write cycle, each update conditional on its fencing token. */
  private async fencedUpdates(updates: ReadonlyArray<{ partition: number; fence: number; set: Partial<PartitionState> }>): Promise<Set<number>> {
    if (updates.length === 0) return new Set();
    const ops = updates.map((u) => ({ updateOne: { filter: { _id: u.partition, fence: u.fence }, update: { $set: u.set } } }));
    let matched = 0;
    for (let i = 0; i < ops.length; i += UPDATES_PER_COMMAND) matched += (await this.states.bulkWrite(ops.slice(i, i + UPDATES_PER_COMMAND), { ordered: false })).matchedCount;
    if (matched === updates.length) return new Set();
    const fences = new Map((await this.states.find({ _id: { $in: updates.map((u) => u.partition) } }, { projection: { fence: 1 } }).toArray()).map((s) => [s._id, s.fence]));
    return new Set(updates.filter((u) => fences.get(u.partition) !== u.fence).map((u) => u.partition));
  }
}
