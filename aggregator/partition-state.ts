import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from '../core/collections.js';

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

  async begin(partition: number, fence: number, inflight: InflightBatch): Promise<void> {
    const result = await this.states.updateOne({ _id: partition, fence }, { $set: { inflight } });
    if (result.matchedCount === 0) throw new LeaseLostError(partition);
  }

  /** Returns the events consumed in total after this batch. */
  async commit(partition: number, fence: number, batch: InflightBatch, consumedBefore: number): Promise<number> {
    const consumed = consumedBefore + batch.events;
    const result = await this.states.updateOne({ _id: partition, fence }, { $set: { committed: batch.to, seq: batch.seq, consumed, inflight: null } });
    if (result.matchedCount === 0) throw new LeaseLostError(partition);
    return consumed;
  }
}
