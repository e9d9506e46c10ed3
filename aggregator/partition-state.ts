import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from '../model/collections.js';
import { insertUnlessPresent } from '../core/store-compat.js';

/** A batch whose writes may have begun: replays must cover exactly these entries. */
export interface InflightBatch {
  /** The batch number (not a feed position: docs/architecture.md, "Two numbers called seq"). */
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

/** The fields a partition's state keeps (its number is its key). */
type StateFields = Omit<PartitionState, '_id'>;


const STATES_ID = 'partitions';
const INITIAL: StateFields = { fence: 0, committed: '0-0', seq: 0, consumed: 0, inflight: null };
const FENCED_UPDATE_ATTEMPTS = 5;

/**
 * Where each partition stands, in MongoDB next to the rollups it describes: one
 * document for all partitions (`p<N>`), so a write cycle's begin or commit of all its
 * batches is one update (on FerretDB every update is a transaction with its own fsync;
 * one per partition was a sixth of a cycle at 10,000 events/s). Every write is
 * conditional on the writer's fencing token of each partition it names, so only the
 * current lease holder moves a partition forward.
 */
export class PartitionStates {
  // Untyped: one field per partition (`p<N>`), and legacy documents by number.
  private readonly states: Collection;

  constructor(db: Db) {
    this.states = db.collection(COLLECTIONS.partitions);
  }

  /** Takes over the partition's state with a fencing token; undefined when a newer token already holds it. */
  async claim(partition: number, fence: number): Promise<PartitionState | undefined> {
    const key = `p${partition}`;
    await insertUnlessPresent(this.states, { _id: STATES_ID as never });
    // A store written before the states shared one document keeps one per partition (`_id` = N).
    const legacy = await this.states.findOne({ _id: partition as never });
    const start: StateFields = legacy === null ? INITIAL : { fence: legacy.fence, committed: legacy.committed, seq: legacy.seq, consumed: legacy.consumed, inflight: legacy.inflight };
    await this.states.updateOne({ _id: STATES_ID as never, [key]: { $exists: false } }, { $set: { [key]: start } });
    const claimed = await this.states.findOneAndUpdate({ _id: STATES_ID as never, [`${key}.fence`]: { $lt: fence } }, { $set: { [`${key}.fence`]: fence } }, { returnDocument: 'after' });
    return claimed === null ? undefined : { _id: partition, ...(claimed[key] as StateFields) };
  }

  /** The fencing token that holds the partition now (0 when it was never claimed). */
  async fence(partition: number): Promise<number> {
    const key = `p${partition}`;
    const doc = await this.states.findOne({ _id: STATES_ID as never }, { projection: { [`${key}.fence`]: 1 } });
    return (doc?.[key] as StateFields | undefined)?.fence ?? 0;
  }

  /** Records each batch as in flight; returns the partitions a newer fencing token holds (nothing was recorded for them). */
  async begin(batches: readonly FencedBatch[]): Promise<Set<number>> {
    return this.fencedUpdate(batches.map((b) => ({ ...b, set: { inflight: b.batch } })));
  }

  /** Records each batch as committed and its `next` as in flight; returns the partitions a newer fencing token holds (their batches stay in flight for it). */
  async commit(batches: readonly CommittedBatch[]): Promise<Set<number>> {
    return this.fencedUpdate(batches.map((b) => ({ ...b, set: { committed: b.batch.to, seq: b.batch.seq, consumed: b.consumed, inflight: b.next } })));
  }

  /**
   * One update for all partitions of a write cycle, conditional on each one's fencing
   * token. When a token changed, the others are written again without that partition.
   */
  private async fencedUpdate(updates: ReadonlyArray<{ partition: number; fence: number; set: Partial<StateFields> }>): Promise<Set<number>> {
    const lost = new Set<number>();
    let left = [...updates];
    for (let attempt = 1; left.length > 0; attempt++) {
      const filter = { _id: STATES_ID as never, ...Object.fromEntries(left.map((u) => [`p${u.partition}.fence`, u.fence])) };
      const set = Object.fromEntries(left.flatMap((u) => Object.entries(u.set).map(([field, value]) => [`p${u.partition}.${field}`, value])));
      if ((await this.states.updateOne(filter, { $set: set })).matchedCount === 1) return lost;
      if (attempt >= FENCED_UPDATE_ATTEMPTS) throw new Error(`partition states: the fenced update kept failing (${left.length} partitions)`);
      const doc = await this.states.findOne({ _id: STATES_ID as never });
      for (const u of left) if ((doc?.[`p${u.partition}`] as StateFields | undefined)?.fence !== u.fence) lost.add(u.partition);
      left = left.filter((u) => !lost.has(u.partition));
    }
    return lost;
  }
}
