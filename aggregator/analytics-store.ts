import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Db, type Document, type OptionalUnlessRequiredId } from 'mongodb';
import { COLLECTIONS, COUNT_COLLECTION, type UserDoc, type Watermarks } from '../core/collections.js';
import type { StampedEvent } from '../core/event-stream.js';
import type { Logger } from '../core/logger.js';
import { createIndexesOneByOne } from '../core/mongo.js';
import { batchMark, bucketDocs, decodeEvents, eventIdKey, needsDeduplication, type EventIdDoc, type RawBucketDoc } from '../core/raw-events.js';
import { GRANULARITY_MS } from '../core/time-buckets.js';
import type { ActivityChange, BatchPlan, CountChange, RetentionChange } from './batch-plan.js';
import type { RecentEventIds } from './recent-event-ids.js';
import { GRANULARITIES, userDocId } from './batch-plan.js';

const DUPLICATE_KEY = 11000;
const APPLY_ATTEMPTS = 5;
/**
 * Updates per command. FerretDB 1.24 keeps each update's SQLite cursor, and so one
 * pooled connection, open until the whole command ends; its pool holds 100, and a
 * command of 100 updates or more deadlocks (measured: 80 pass, 100 hang).
 */
const UPDATES_PER_COMMAND = 50;
/** Documents per insert (and users per read) when a recompute writes. */
const REBUILD_CHUNK = 1000;
/** Expired raw buckets read per step of the sweep, and their eventIds deleted per command. */
const SWEEP_BUCKETS = 50;
const IDS_PER_DELETE = 1000;

export type ExpiryMode = 'ttl' | 'sweep';

/** A user as a recompute rebuilt them from raw events. */
export interface RebuiltUser {
  projectId: string;
  distinctId: string;
  userId?: string;
  anonymousId?: string;
  /** The partition whose documents hold the user's activity. */
  part: number;
  days: Set<number>;
  first: number;
  last: number;
}

/** One document's change: as an update of the existing document, or as the whole document when it is new. */
interface Guarded {
  id: string;
  update: Document;
  insert: Document;
}

/**
 * The aggregator's MongoDB side. Every write is idempotent per (partition, batch):
 * raw events by `_id`, users and rollups by their `wm.p<N>` watermark.
 *
 * Per collection and batch: one read of the touched documents' watermarks; documents
 * already at this batch are skipped, new ones are inserted whole (with the watermark),
 * existing ones get an update guarded by the watermark. Two FerretDB 1.x traits shape
 * this: an unordered update bulk stops at its first error (so nothing here raises one
 * on purpose), and each update scans the collection (its `_id` index is not used by
 * updates) while a batched insert is cheap, so new documents are never upserted.
 * A conflict (another partition inserting the same document at the same moment)
 * is answered by reading again and applying what is left.
 */
export class AnalyticsStore {
  constructor(private readonly db: Db, private readonly logger: Logger) {}

  private collection<T extends Document = Document>(name: string): Collection<T> {
    return this.db.collection<T>(name);
  }

  /** Creates the indexes; returns whether the server expires documents itself (TTL) or needs the sweep. */
  async ensureIndexes(): Promise<ExpiryMode> {
    const { rawEvents, users, activity, retentionDaily, retentionWeekly, countsMinute, countsHour, countsDay } = COLLECTIONS;
    await createIndexesOneByOne(this.collection(rawEvents), [
      { key: { projectId: 1, day: 1, part: 1 }, name: 'project_day_part' },
      // Raw buckets always expire by the sweep: their eventIds go with them.
      { key: { expireAt: 1 }, name: 'expire_at' },
    ]);
    for (const name of [countsMinute, countsHour, countsDay]) await this.collection(name).createIndex({ projectId: 1, event: 1, bucket: 1 }, { name: 'project_event_bucket' });
    await this.collection(activity).createIndex({ projectId: 1, day: 1 }, { name: 'project_day' });
    for (const name of [retentionDaily, retentionWeekly]) await this.collection(name).createIndex({ projectId: 1, cohort: 1 }, { name: 'project_cohort' });

    let mode: ExpiryMode = 'ttl';
    for (const name of [users, countsMinute, countsHour, countsDay, activity, retentionDaily, retentionWeekly]) {
      try {
        await this.collection(name).createIndex({ expireAt: 1 }, { name: 'expire_ttl', expireAfterSeconds: 0 });
      } catch (err) {
        if (!isNotImplemented(err)) throw err;
        mode = 'sweep';
        await this.collection(name).createIndex({ expireAt: 1 }, { name: 'expire_at' });
      }
    }
    return mode;
  }

  /**
   * Deletes what is past its expiry: raw event buckets and their eventIds always (on every
   * server), the other collections too in `sweep` mode (servers without TTL indexes).
   */
  async sweepExpired(mode: ExpiryMode, now = new Date()): Promise<number> {
    let deleted = await this.sweepRawEvents(now);
    if (mode === 'ttl') return deleted;
    for (const name of Object.values(COLLECTIONS)) {
      if (name === COLLECTIONS.partitions || name === COLLECTIONS.rawEvents || name === COLLECTIONS.eventIds) continue;
      deleted += (await this.collection(name).deleteMany({ expireAt: { $lt: now } })).deletedCount;
    }
    return deleted;
  }

  /** Expired raw buckets, each with its events' eventIds first (a bucket gone first would strand them). */
  private async sweepRawEvents(now: Date): Promise<number> {
    const buckets = this.collection<RawBucketDoc>(COLLECTIONS.rawEvents);
    const ids = this.collection<EventIdDoc>(COLLECTIONS.eventIds);
    let deleted = 0;
    for (;;) {
      const expired = await buckets.find({ expireAt: { $lt: now } }, { limit: SWEEP_BUCKETS }).toArray();
      for (const bucket of expired) {
        const keys = decodeEvents(bucket).filter(needsDeduplication).map((e) => eventIdKey(e.projectId, e.eventId));
        for (let i = 0; i < keys.length; i += IDS_PER_DELETE) deleted += (await ids.deleteMany({ _id: { $in: keys.slice(i, i + IDS_PER_DELETE) } })).deletedCount;
        deleted += (await buckets.deleteOne({ _id: bucket._id })).deletedCount;
      }
      if (expired.length < SWEEP_BUCKETS) return deleted;
    }
  }

  /**
   * Stores the batch's raw events and returns those that are new in this batch: stored
   * now, or by an earlier attempt at this same batch. An eventId stored by any other
   * batch is a retry of an event already counted. `recent` holds eventIds this runner saw
   * stored, with the batch that stored them: a retry found there is dropped without a
   * write (an insert that meets a duplicate falls back to FerretDB's slow path, 13,000
   * documents/s instead of 40,000), and learns the ids of this batch.
   */
  async insertEvents(events: readonly StampedEvent[], part: number, seq: number, expiryDays: number, recent: RecentEventIds): Promise<StampedEvent[]> {
    if (events.length === 0) return [];
    const mark = batchMark(part, seq);
    // The key of each event that needs deduplication, by position (undefined: a server-made id).
    const keys = events.map((e) => (needsDeduplication(e) ? eventIdKey(e.projectId, e.eventId) : undefined));
    const retries = new Set<string>();
    const unknown: string[] = [];
    for (const key of keys) {
      if (key === undefined) continue;
      const storedBy = recent.get(key);
      if (storedBy === undefined) unknown.push(key);
      else if (storedBy !== mark) retries.add(key);
    }
    const ids = this.collection<EventIdDoc>(COLLECTIONS.eventIds);
    const duplicates = unknown.length === 0 ? new Set<number>() : await insertSkippingDuplicates(ids, unknown.map((_id) => ({ _id, b: mark })));
    const owners = new Map<string, string>();
    if (duplicates.size > 0) {
      const dupKeys = [...duplicates].map((i) => unknown[i]!);
      for (const d of await ids.find({ _id: { $in: dupKeys } }).toArray()) owners.set(d._id, d.b);
    }
    for (const key of unknown) {
      const storedBy = owners.get(key) ?? mark;
      if (storedBy !== mark) retries.add(key);
      recent.remember(key, storedBy);
    }
    const fresh = retries.size === 0 ? [...events] : events.filter((_, i) => keys[i] === undefined || !retries.has(keys[i]));
    // A replay writes the same buckets: the duplicates are the first attempt's.
    const buckets = bucketDocs(fresh, part, seq, expiryDays);
    if (buckets.length > 0) await insertSkippingDuplicates(this.collection<RawBucketDoc>(COLLECTIONS.rawEvents), buckets);
    return fresh;
  }

  async loadUsers(ids: readonly string[]): Promise<Map<string, UserDoc>> {
    if (ids.length === 0) return new Map();
    const docs = await this.collection<UserDoc>(COLLECTIONS.users).find({ _id: { $in: [...ids] } }).toArray();
    return new Map(docs.map((d) => [d._id, d]));
  }

  /**
   * Applies a batch plan to users and rollups, each document once per (partition, batch).
   * `between` runs between two collections' writes (the crash tests kill the process there).
   */
  async apply(plan: BatchPlan, part: number, seq: number, between: () => void = () => undefined): Promise<void> {
    const wm = `wm.p${part}`;
    const marks = { [`p${part}`]: seq };
    const writes: Array<[string, Guarded[]]> = [
      [
        COLLECTIONS.users,
        plan.users.map((u) => {
          const ids = { projectId: u.projectId, distinctId: u.distinctId, ...(u.userId === undefined ? {} : { userId: u.userId }), ...(u.anonymousId === undefined ? {} : { anonymousId: u.anonymousId }) };
          return {
            id: u.id,
            update: {
              $set: { ...ids, ...Object.fromEntries(u.newDays.map((d) => [`days.${d}`, seq])), [wm]: seq },
              $min: { firstSeen: u.firstSeen },
              $max: { lastSeen: u.lastSeen, expireAt: u.expireAt },
            },
            insert: { ...ids, days: Object.fromEntries(u.newDays.map((d) => [String(d), seq])), firstSeen: u.firstSeen, lastSeen: u.lastSeen, expireAt: u.expireAt, wm: marks },
          };
        }),
      ],
      ...GRANULARITIES.map((g): [string, Guarded[]] => [
        COUNT_COLLECTION[g],
        plan.counts[g].map((c) => ({
          id: c.id,
          update: { $inc: { count: c.count, ...Object.fromEntries([...c.by].map(([k, n]) => [`by.${k}`, n])) }, $set: { [wm]: seq } },
          insert: countDoc(c, marks),
        })),
      ]),
      [
        COLLECTIONS.activity,
        plan.activity.map((a) => ({
          id: a.id,
          update: { $inc: { dau: a.dau, wau: a.wau, mau: a.mau }, $set: { [wm]: seq } },
          insert: activityDoc(a, marks),
        })),
      ],
      [COLLECTIONS.retentionDaily, plan.retentionDaily.map((r) => retentionChange(r, wm, marks, seq))],
      [COLLECTIONS.retentionWeekly, plan.retentionWeekly.map((r) => retentionChange(r, wm, marks, seq))],
    ];
    for (const [name, ops] of writes) {
      await this.applyGuarded(name, ops, part, seq);
      between();
    }
  }

  /** For a recompute: replaces what `filter` selects with `docs`. Not atomic: a recompute that stops halfway is run again. */
  async replaceRange(name: string, filter: Document, docs: readonly Document[]): Promise<number> {
    const collection = this.collection(name);
    await collection.deleteMany(filter);
    for (let i = 0; i < docs.length; i += REBUILD_CHUNK) await collection.insertMany(docs.slice(i, i + REBUILD_CHUNK) as Document[], { ordered: false });
    return docs.length;
  }

  /**
   * For a recompute: sets each user's active days up to `untilDay` to those of their raw
   * events (later days, and the documents of users without raw events, are kept).
   * `existing`: their documents as read before the rebuild.
   * Recorded as batch 0: older than any batch the live path will apply.
   */
  async rebuildUsers(users: readonly RebuiltUser[], existing: ReadonlyMap<string, UserDoc>, untilDay: number, expiryDays: number): Promise<number> {
    const collection = this.collection<UserDoc>(COLLECTIONS.users);
    for (let i = 0; i < users.length; i += REBUILD_CHUNK) {
      const chunk = users.slice(i, i + REBUILD_CHUNK);
      const inserts: UserDoc[] = [];
      const updates: AnyBulkWriteOperation<UserDoc>[] = [];
      for (const user of chunk) {
        const id = userDocId(user.projectId, user.distinctId);
        const doc = existing.get(id);
        const days: Record<string, number> = Object.fromEntries([...user.days].map((d) => [String(d), 0]));
        for (const [day, seq] of Object.entries(doc?.days ?? {})) if (Number(day) > untilDay) days[day] = seq;
        const lastSeen = new Date(Math.max(user.last, doc?.lastSeen?.getTime() ?? 0));
        const fields = { days, firstSeen: new Date(user.first), lastSeen, expireAt: new Date(lastSeen.getTime() + expiryDays * GRANULARITY_MS.day) };
        if (doc === undefined) {
          const ids = { projectId: user.projectId, distinctId: user.distinctId, ...(user.userId === undefined ? {} : { userId: user.userId }), ...(user.anonymousId === undefined ? {} : { anonymousId: user.anonymousId }) };
          inserts.push({ _id: id, ...ids, ...fields, wm: {} });
        } else updates.push({ updateOne: { filter: { _id: id }, update: { $set: fields } } });
      }
      if (inserts.length > 0) await collection.insertMany(inserts, { ordered: false });
      for (let j = 0; j < updates.length; j += UPDATES_PER_COMMAND) await collection.bulkWrite(updates.slice(j, j + UPDATES_PER_COMMAND), { ordered: false });
    }
    return users.length;
  }

  private async applyGuarded(name: string, ops: Guarded[], part: number, seq: number): Promise<void> {
    if (ops.length === 0) return;
    const collection = this.collection(name);
    const wm = `wm.p${part}`;
    let pending = ops;
    for (let attempt = 1; ; attempt++) {
      const marks = new Map(
        (await collection.find({ _id: { $in: pending.map((o) => o.id) as never[] } }, { projection: { [wm]: 1 } }).toArray()).map((d) => [
          d._id as unknown as string,
          ((d.wm as Record<string, number> | undefined)?.[`p${part}`] ?? 0),
        ]),
      );
      const updates = pending.filter((o) => marks.has(o.id) && marks.get(o.id)! < seq);
      const inserts = pending.filter((o) => !marks.has(o.id));
      const conflicts = inserts.length === 0 ? new Set<number>() : await insertSkippingDuplicates(collection, inserts.map((o) => ({ _id: o.id, ...o.insert })));
      if (updates.length > 0) {
        // The watermark in the filter makes MongoDB itself refuse a second application,
        // even by a worker that lost its lease without knowing it.
        const bulk: AnyBulkWriteOperation[] = updates.map((o) => ({ updateOne: { filter: { _id: o.id as never, [wm]: { $not: { $gte: seq } } }, update: o.update } }));
        for (let i = 0; i < bulk.length; i += UPDATES_PER_COMMAND) await collection.bulkWrite(bulk.slice(i, i + UPDATES_PER_COMMAND), { ordered: false });
      }
      if (conflicts.size === 0) return;
      if (attempt >= APPLY_ATTEMPTS) throw new Error(`${name}: ${conflicts.size} documents kept conflicting after ${attempt} attempts`);
      this.logger.debug({ collection: name, attempt, conflicts: conflicts.size }, 'rollup insert conflict; applying as updates');
      pending = inserts.filter((_, i) => conflicts.has(i));
    }
  }
}

/** {"platform.web": 3} as {platform: {web: 3}}, for inserting a document whole. */
function nest(flat: ReadonlyMap<string, number>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [key, n] of flat) {
    const dot = key.indexOf('.');
    const [dimension, value] = [key.slice(0, dot), key.slice(dot + 1)];
    (out[dimension] ??= {})[value] = n;
  }
  return out;
}

/**
 * Inserts unordered and returns the indexes of the documents refused as duplicates.
 * Anything else throws, including a bulk error that does not account for every
 * document: FerretDB shutting down mid-insert answered with a bulk error holding no
 * write errors, and taking that for "no duplicates" counted events never stored
 * (found by aggregator/restart.test.ts).
 */
async function insertSkippingDuplicates<T extends Document>(collection: Collection<T>, docs: readonly T[]): Promise<Set<number>> {
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
    return new Set();
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError) || err.result.getWriteConcernError() !== undefined) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (errors.some((e) => e?.code !== DUPLICATE_KEY) || err.insertedCount + errors.length !== docs.length) throw err;
    return new Set(errors.map((e) => e.index));
  }
}

/** The whole documents of changes to documents that do not exist yet (the `_id` is added by the writer). */
export function countDoc(c: CountChange, marks: Watermarks): Document {
  return { projectId: c.projectId, event: c.event, bucket: c.bucket, count: c.count, by: nest(c.by), expireAt: c.expireAt, wm: marks };
}

export function activityDoc(a: ActivityChange, marks: Watermarks): Document {
  return { projectId: a.projectId, day: a.day, dau: a.dau, wau: a.wau, mau: a.mau, expireAt: a.expireAt, wm: marks };
}

export function retentionDoc(r: RetentionChange, marks: Watermarks): Document {
  return { projectId: r.projectId, cohort: r.cohort, r: Object.fromEntries([...r.r].map(([offset, n]) => [String(offset), n])), expireAt: r.expireAt, wm: marks };
}

function retentionChange(r: RetentionChange, wm: string, marks: Record<string, number>, seq: number): Guarded {
  return {
    id: r.id,
    update: { $inc: Object.fromEntries([...r.r].map(([offset, n]) => [`r.${offset}`, n])), $set: { [wm]: seq } },
    insert: retentionDoc(r, marks),
  };
}

function isNotImplemented(err: unknown): boolean {
  const e = err as { code?: number; codeName?: string; message?: string };
  return e.code === 238 || e.codeName === 'NotImplemented' || /not implemented/i.test(e.message ?? '');
}
