import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import { COLLECTIONS, COUNT_COLLECTION, type RollupDeltaDoc, type UserDoc, type Watermarks } from '../model/collections.js';
import type { StampedEvent } from '../model/event-stream.js';
import type { Logger } from '../core/logger.js';
import { createExpiryIndexes, createIndexesOneByOne, insertSkippingDuplicates, isUnwritableDocumentError, UPDATES_PER_COMMAND, updatesAreAtomic, type ExpiryMode } from '../core/store-compat.js';
import { batchMark, bucketDocs, dayIdRange, decodeEvents, eventIdKey, idPrefixRange, needsDeduplication, rawDayDoc, rawDayExpired, type EventIdDoc, type RawBucketDoc, type RawDayDoc } from '../model/raw-events.js';
import { decodeDeltas, rollupDeltaDocs, type RollupChange } from '../model/rollup-deltas.js';
import { earlier, linksOf, personLinkId, type IdentityLink, type PersonLinkDoc } from '../model/persons.js';
import { dayNumber, GRANULARITY_MS } from '../model/time-buckets.js';
import type { LruMap } from './lru-map.js';
import type { ActivityChange, BatchPlan, CountChange, RetentionChange, UserChange } from './batch-plan.js';
import type { RecentEventIds } from './recent-event-ids.js';
import { GRANULARITIES, userDocId, userIds } from './batch-plan.js';

const APPLY_ATTEMPTS = 5;
/** Documents per insert (and users per read) when a recompute writes. */
const REBUILD_CHUNK = 1000;
/** Expired raw buckets read per step of the sweep, and their eventIds deleted per command. */
const SWEEP_BUCKETS = 50;
const IDS_PER_DELETE = 1000;
/** The raw-days document that records the last day the sweep finished. */
const SWEPT_THROUGH = 'swept';
/**
 * Days before the last one swept that each sweep looks at again: a batch written before a
 * midnight but stored after the sweep passed may still add a bucket to a day the sweep
 * already passed (only with a backlog of about a day, see sweepRawEvents).
 */
const RECHECK_DAYS = 7;
/** Project days this process remembers having recorded in raw_days (then it forgets them all and records again, a duplicate each). */
const RAW_DAYS_REMEMBERED = 100_000;


/** What expires by `expireAt` (a TTL index, or the sweep in `sweep` mode); raw buckets and eventIds go their own way, the rest never expires. */
const EXPIRING: ReadonlySet<string> = new Set([COLLECTIONS.users, COLLECTIONS.countsMinute, COLLECTIONS.countsHour, COLLECTIONS.countsDay, COLLECTIONS.activity, COLLECTIONS.retentionDaily, COLLECTIONS.retentionWeekly, COLLECTIONS.reportSegments]);

/** A user as a recompute rebuilt them from raw events. */
export interface RebuiltUser {
  projectId: string;
  distinctId: string;
  userId?: string;
  anonymousId?: string;
  days: Set<number>;
  first: number;
  last: number;
}

/** One partition's batch of a write cycle, as its raw events are stored. */
export interface BatchEvents {
  part: number;
  seq: number;
  events: readonly StampedEvent[];
  /** The eventIds this partition's holder saw stored (see RecentEventIds). */
  recent: RecentEventIds;
  /** When the batch was written to its stream: events whose day's raw retention had ended by then are not stored (a replay decides the same). */
  asOf: number;
}

/**
 * A fold of the rollup deltas read at its start. Each step writes the next documents
 * whole (every delta's change to each, one guarded update or insert), so a fold can be
 * spread over write cycles, and deletes the deltas all of whose documents are written.
 * Stopping halfway is safe: the next fold reads the deltas left again and the
 * watermarks skip what was written.
 */
export interface RollupFold {
  /** Deltas being folded. */
  readonly deltas: number;
  /** Documents still to write. */
  left(): number;
  step(maxDocs: number): Promise<void>;
}

/**
 * A rollup document the server refused for what it holds (the changes that were to be
 * added to it), or a delta that cannot be read (`collection` rollup_deltas, its text in
 * `changes`); and why.
 */
export interface UnwritableRollup {
  collection: string;
  id: string;
  /** The (first) batch whose change it holds. */
  part: number;
  seq: number;
  error: string;
  pieces: ReadonlyArray<{ part: number; seq: number; change: RollupChange }>;
  changes?: string;
}

/** One partition's batch of a write cycle, planned. */
export interface PlannedBatch {
  part: number;
  seq: number;
  plan: BatchPlan;
}

/** One batch's change to one document. */
interface Piece<C> {
  part: number;
  seq: number;
  change: C;
}

/** A rollup document a fold writes: every delta's change to it, and the deltas they came from. */
interface FoldDoc {
  name: string;
  pieces: Piece<RollupChange>[];
  deltas: Set<string>;
}

/** How one kind of change is written: as an update of the existing document, or as the whole document when it is new. */
interface DocWrites<C> {
  /** The document the change is to. */
  id(change: C): string;
  /** The change of two batches as one. */
  sum(a: C, b: C): C;
  update(change: C): Document;
  /** Without `_id` and `wm` (the writer adds them). */
  insert(change: C): Document;
}

/**
 * The aggregator's MongoDB side. Every write is idempotent per (partition, batch):
 * raw events, eventIds and rollup deltas by `_id`, users and rollups by their `wm.p<N>`
 * watermark.
 *
 * A worker writes the batches of all its partitions in one cycle: one insert for their
 * eventIds, one for their raw buckets, one guarded write of the users whose days
 * changed, one insert of their rollup deltas. On FerretDB (SQLite) each update is a
 * transaction with its own fsync (about 1.7 ms here) and so is an insert of a thousand
 * documents, so a cycle's cost is mostly its number of writes: an update per touched
 * rollup document was most of a cycle. The rollup documents are written by a fold
 * (`startFold`), every AGGREGATOR_FOLD_MS, for all the deltas since the last one, a few
 * documents after each cycle: one read of the touched documents' watermarks per
 * collection, batches a document already holds skipped, new documents inserted whole
 * (with the watermarks), existing ones one update guarded by their watermarks. Two FerretDB 1.x traits shape this: an unordered update bulk stops
 * at its first error (so nothing here raises one on purpose), and updates are slow
 * while a batched insert is cheap, so new documents are never upserted. A conflict
 * (another worker inserting the same document at the same moment) is answered by
 * reading again and applying what is left.
 */
export class AnalyticsStore {
  /** `_id`s of the raw_days documents this process wrote or found written. */
  private readonly rawDaysRecorded = new Set<string>();

  constructor(private readonly db: Db, private readonly logger: Logger) {}

  private collection<T extends Document = Document>(name: string): Collection<T> {
    return this.db.collection<T>(name);
  }

  /** Whether several processes may update one document at once (see core/mongo.ts). */
  updatesAreAtomic(): Promise<boolean> {
    return updatesAreAtomic(this.db);
  }

  /** Creates the indexes; returns whether the server expires documents itself (TTL) or needs the sweep. */
  async ensureIndexes(): Promise<ExpiryMode> {
    const { rawEvents, activity, retentionDaily, retentionWeekly, countsMinute, countsHour, countsDay } = COLLECTIONS;
    await createIndexesOneByOne(this.collection(rawEvents), [
      { key: { projectId: 1, day: 1, part: 1 }, name: 'project_day_part' },
      // Raw buckets always expire by the sweep: their eventIds go with them.
      { key: { expireAt: 1 }, name: 'expire_at' },
    ]);
    for (const name of [countsMinute, countsHour, countsDay]) await this.collection(name).createIndex({ projectId: 1, event: 1, bucket: 1 }, { name: 'project_event_bucket' });
    await this.collection(activity).createIndex({ projectId: 1, day: 1 }, { name: 'project_day' });
    await this.collection(COLLECTIONS.personLinks).createIndex({ projectId: 1 }, { name: 'projectId' });
    for (const name of [retentionDaily, retentionWeekly]) await this.collection(name).createIndex({ projectId: 1, cohort: 1 }, { name: 'project_cohort' });

    return createExpiryIndexes([...EXPIRING].map((name) => this.collection(name)));
  }

  /**
   * Deletes what is past its expiry: raw event buckets and their eventIds always (on every
   * server), the other collections too in `sweep` mode (servers without TTL indexes).
   */
  async sweepExpired(mode: ExpiryMode, rawExpiryDays: number, now = new Date()): Promise<number> {
    let deleted = await this.sweepRawEvents(now, rawExpiryDays);
    if (mode === 'ttl') return deleted;
    for (const name of EXPIRING) {
      deleted += (await this.collection(name).deleteMany({ expireAt: { $lt: now } })).deletedCount;
    }
    return deleted;
  }

  /**
   * Deletes the raw buckets of the days past their retention, day by day from the one
   * after the last swept, each project's day found in `raw_days` and its buckets by their
   * `_id` prefix: a sweep reads what it deletes, never a whole collection. The last
   * RECHECK_DAYS days swept are looked at again, and the sweep stays a day behind the
   * retention's end, so a bucket written late by a batch from before that midnight is
   * still found. Without a record of a finished sweep (a store from before raw_days),
   * one pass over every bucket records the days that have some and deletes the expired.
   */
  private async sweepRawEvents(now: Date, expiryDays: number): Promise<number> {
    const rawDays = this.collection<RawDayDoc & { through?: number }>(COLLECTIONS.rawDays);
    // The last day whose retention ended a day before now.
    const last = dayNumber(now.getTime() - GRANULARITY_MS.day) - 1 - expiryDays;
    const through = (await rawDays.findOne({ _id: SWEPT_THROUGH }))?.through;
    let deleted = 0;
    if (through === undefined) deleted += await this.recordRawDays(now, expiryDays);
    const from = through === undefined ? last + 1 : Math.min(through + 1, last - RECHECK_DAYS + 1);
    for (let day = from; day <= last; day++) {
      for (const { _id, projectId } of await rawDays.find(idPrefixRange(`${day}|`)).toArray()) {
        deleted += await this.deleteBuckets(dayIdRange(projectId, day));
        await rawDays.deleteOne({ _id });
      }
    }
    if (through === undefined || last > through) await rawDays.updateOne({ _id: SWEPT_THROUGH }, { $set: { through: last } }, { upsert: true });
    return deleted;
  }

  /** One pass over every raw bucket: records the project days that have some, and deletes the expired (a store from before raw_days). */
  private async recordRawDays(now: Date, expiryDays: number): Promise<number> {
    const days: RawDayDoc[] = [];
    for await (const bucket of this.collection<RawBucketDoc>(COLLECTIONS.rawEvents).find({}, { projection: { projectId: 1, day: 1 } })) {
      const day = dayNumber(bucket.day.getTime());
      if (!rawDayExpired(day, expiryDays, now.getTime())) days.push(rawDayDoc(bucket.projectId, day));
    }
    await this.recordDays(days);
    return this.deleteBuckets({ expireAt: { $lt: now } });
  }

  /** The buckets `filter` selects, each with its events' eventIds first (a bucket gone first would strand them). */
  private async deleteBuckets(filter: Record<string, unknown>): Promise<number> {
    const buckets = this.collection<RawBucketDoc>(COLLECTIONS.rawEvents);
    const ids = this.collection<EventIdDoc>(COLLECTIONS.eventIds);
    let deleted = 0;
    for (;;) {
      const expired = await buckets.find(filter, { limit: SWEEP_BUCKETS }).toArray();
      for (const bucket of expired) {
        const keys = decodeEvents(bucket).filter(needsDeduplication).map((e) => eventIdKey(e.projectId, e.eventId));
        for (let i = 0; i < keys.length; i += IDS_PER_DELETE) deleted += (await ids.deleteMany({ _id: { $in: keys.slice(i, i + IDS_PER_DELETE) } })).deletedCount;
        deleted += (await buckets.deleteOne({ _id: bucket._id })).deletedCount;
      }
      if (expired.length < SWEEP_BUCKETS) return deleted;
    }
  }

  /**
   * Stores the raw events of a write cycle's batches (one per partition) and returns,
   * per batch, those that are new in it: stored now, or by an earlier attempt at this
   * same batch. An eventId stored by any other batch is a retry of an event already
   * counted. Each batch's `recent` holds eventIds its partition's holder saw stored, with
   * the batch that stored them: a retry found there is dropped without a write (an
   * insert that meets a duplicate falls back to FerretDB's slow path, 13,000 documents/s
   * instead of 40,000), and learns the ids of this batch. One insert for all eventIds,
   * one for all buckets.
   */
  async insertEvents(given: readonly BatchEvents[], expiryDays: number): Promise<StampedEvent[][]> {
    // Events past their raw retention when written are not stored (nor counted: their rollups are past theirs too).
    const batches = given.map((b) => {
      const kept = b.events.filter((e) => !rawDayExpired(dayNumber(e.timestamp), expiryDays, b.asOf));
      return kept.length === b.events.length ? b : { ...b, events: kept };
    });
    // Per batch, the key of each event that needs deduplication, by position (undefined: a server-made id).
    const keys = batches.map((b) => b.events.map((e) => (needsDeduplication(e) ? eventIdKey(e.projectId, e.eventId) : undefined)));
    const retries = batches.map(() => new Set<string>());
    const unknown: Array<{ batch: number; doc: EventIdDoc }> = [];
    batches.forEach((b, i) => {
      const mark = batchMark(b.part, b.seq);
      for (const key of keys[i]!) {
        if (key === undefined) continue;
        const storedBy = b.recent.get(key);
        if (storedBy === undefined) unknown.push({ batch: i, doc: { _id: key, b: mark } });
        else if (storedBy !== mark) retries[i]!.add(key);
      }
    });
    const ids = this.collection<EventIdDoc>(COLLECTIONS.eventIds);
    const duplicates = unknown.length === 0 ? new Set<number>() : await insertSkippingDuplicates(ids, unknown.map((u) => u.doc));
    const owners = new Map<string, string>();
    if (duplicates.size > 0) {
      const dupKeys = [...duplicates].map((i) => unknown[i]!.doc._id);
      for (const d of await ids.find({ _id: { $in: dupKeys } }).toArray()) owners.set(d._id, d.b);
    }
    unknown.forEach(({ batch, doc }, i) => {
      // Refused: stored by the batch named in the stored document (this one on a replay).
      const storedBy = duplicates.has(i) ? (owners.get(doc._id) ?? doc.b) : doc.b;
      if (storedBy !== doc.b) retries[batch]!.add(doc._id);
      batches[batch]!.recent.remember(doc._id, storedBy);
    });
    const fresh = batches.map((b, i) => (retries[i]!.size === 0 ? [...b.events] : b.events.filter((_, j) => keys[i]![j] === undefined || !retries[i]!.has(keys[i]![j]!))));
    // A replay writes the same buckets: the duplicates are the first attempt's.
    const buckets = batches.flatMap((b, i) => bucketDocs(fresh[i]!, b.part, b.seq, expiryDays));
    await this.recordDays(buckets.map((b) => rawDayDoc(b.projectId, dayNumber(b.day.getTime()))));
    if (buckets.length > 0) await insertSkippingDuplicates(this.collection<RawBucketDoc>(COLLECTIONS.rawEvents), buckets);
    return fresh;
  }

  /** Records in raw_days the project days given that this process has not recorded yet (before their buckets are written). */
  private async recordDays(docs: readonly RawDayDoc[]): Promise<void> {
    const days = new Map<string, RawDayDoc>();
    for (const doc of docs) if (!this.rawDaysRecorded.has(doc._id)) days.set(doc._id, doc);
    if (days.size === 0) return;
    await insertSkippingDuplicates(this.collection<RawDayDoc>(COLLECTIONS.rawDays), [...days.values()]);
    if (this.rawDaysRecorded.size + days.size > RAW_DAYS_REMEMBERED) this.rawDaysRecorded.clear();
    for (const id of days.keys()) this.rawDaysRecorded.add(id);
  }

  /**
   * Stores the identity links of a write cycle's new events (model/persons.ts): per
   * project and anonymous id the earliest link, whatever order they arrive in. `known`
   * holds, per partition, the links its holder saw stored: a link no earlier than the one
   * known costs no write (after an identify, every browser event carries both ids). A
   * new link is inserted; one that meets a stored link replaces it only when earlier, by
   * a conditional update, so a replay or another partition's link changes nothing twice.
   */
  async storeLinks(batches: ReadonlyArray<{ events: readonly StampedEvent[]; known: LruMap<string, IdentityLink> }>): Promise<Set<string>> {
    const candidates = new Map<string, { doc: PersonLinkDoc; known: LruMap<string, IdentityLink> }>();
    for (const { events, known } of batches) {
      for (const event of events) {
        for (const link of linksOf(event)) {
          const id = personLinkId(event.projectId, link.anonymousId);
          const held = known.peek(id) ?? candidates.get(id)?.doc;
          if (held === undefined || earlier(link, held)) candidates.set(id, { doc: { _id: id, projectId: event.projectId, ...link }, known });
        }
      }
    }
    // The projects whose links may have changed (reports' segments read them again).
    const linked = new Set([...candidates.values()].map((c) => c.doc.projectId));
    if (candidates.size === 0) return linked;
    const links = this.collection<PersonLinkDoc>(COLLECTIONS.personLinks);
    const docs = [...candidates.values()].map((c) => c.doc);
    const taken = await insertSkippingDuplicates(links, docs);
    const stored = taken.size === 0 ? new Map<string, PersonLinkDoc>() : new Map((await links.find({ _id: { $in: [...taken].map((i) => docs[i]!._id) } }).toArray()).map((d) => [d._id, d]));
    for (const [i, doc] of docs.entries()) {
      const { known } = candidates.get(doc._id)!;
      const held = taken.has(i) ? stored.get(doc._id) : doc;
      if (held !== undefined && !earlier(doc, held)) {
        known.set(doc._id, held);
        continue;
      }
      const { matchedCount } = await links.updateOne(
        { _id: doc._id, $or: [{ timestamp: { $gt: doc.timestamp } }, { timestamp: doc.timestamp, eventId: { $gt: doc.eventId } }] },
        { $set: { userId: doc.userId, timestamp: doc.timestamp, eventId: doc.eventId } },
      );
      // Not matched: an even earlier link got there meanwhile; the next batch reads it again.
      if (matchedCount === 1) known.set(doc._id, doc);
    }
    return linked;
  }

  async loadUsers(ids: readonly string[]): Promise<Map<string, UserDoc>> {
    if (ids.length === 0) return new Map();
    const docs = await this.collection<UserDoc>(COLLECTIONS.users).find({ _id: { $in: [...ids] } }).toArray();
    return new Map(docs.map((d) => [d._id, d]));
  }

  /**
   * Applies a write cycle's batch plans (one per partition): users updated (each document
   * once per (partition, batch)), rollup changes inserted as one delta document per
   * project and batch (model/rollup-deltas.ts), folded later (`startFold`).
   * `between` runs between the two writes (the crash tests kill the process there).
   */
  async apply(batches: readonly PlannedBatch[], between: () => void = () => undefined): Promise<void> {
    const users: Piece<UserChange>[] = batches.flatMap(({ part, seq, plan }) => plan.users.map((change) => ({ part, seq, change })));
    await this.guardedWrite(COLLECTIONS.users, USER_WRITES, users)();
    between();
    const deltas = batches.flatMap(rollupDeltas);
    // A replay inserts the same documents again: the duplicates are the first attempt's.
    if (deltas.length > 0) await insertSkippingDuplicates(this.collection<RollupDeltaDoc>(COLLECTIONS.rollupDeltas), deltas);
  }

  /**
   * Starts folding the rollup deltas of each partition up to its batch in `upTo`
   * (committed batches only: an uncommitted one may still be replayed) into the rollup
   * documents; undefined when there are none. The fold writes a few documents per step
   * and deletes each delta once all its documents are written (see RollupFold).
   *
   * A document the server refuses for what it holds (a delta written before its values
   * were made storable) would fail every fold from then on and keep every later delta
   * unfolded: it is handed to `unwritable` (which keeps it as a dead letter) and counted
   * as written, and the fold goes on; so is a delta that cannot be read, which is then
   * deleted. A recompute of their days rebuilds them from the raw events.
   */
  async startFold(upTo: ReadonlyMap<number, number>, unwritable: (doc: UnwritableRollup) => Promise<void>): Promise<RollupFold | undefined> {
    if (upTo.size === 0) return undefined;
    const collection = this.collection<RollupDeltaDoc>(COLLECTIONS.rollupDeltas);
    const found = (await collection.find({ part: { $in: [...upTo.keys()] } }).toArray()).filter((d) => d.seq <= upTo.get(d.part)!);
    const undecodable: Array<{ delta: RollupDeltaDoc; err: Error }> = [];
    const deltas = decodeDeltas(found, (delta, err) => undecodable.push({ delta, err }));
    for (const { delta, err } of undecodable) {
      await unwritable({ collection: COLLECTIONS.rollupDeltas, id: delta._id, part: delta.part, seq: delta.seq, error: err.message, pieces: [], changes: delta.changes });
      await collection.deleteOne({ _id: delta._id });
    }
    if (deltas.length === 0) return undefined;
    // Per document: every delta's change to it, written together, and the deltas it is written for.
    const docs = new Map<string, FoldDoc>();
    // Per delta: its documents not written yet.
    const unwritten = new Map<string, number>();
    for (const { doc: delta, part, seq, changes: byCollection } of deltas) {
      unwritten.set(delta._id, 0);
      for (const [name, changes] of Object.entries(byCollection)) {
        for (const change of changes) {
          const key = `${name}|${change._id}`;
          const doc = docs.get(key) ?? { name, pieces: [], deltas: new Set<string>() };
          doc.pieces.push({ part, seq, change });
          if (!doc.deltas.has(delta._id)) {
            doc.deltas.add(delta._id);
            unwritten.set(delta._id, unwritten.get(delta._id)! + 1);
          }
          docs.set(key, doc);
        }
      }
    }
    const queue = [...docs.values()];
    let next = 0;
    return {
      deltas: deltas.length,
      left: () => queue.length - next,
      step: async (maxDocs) => {
        const slice = queue.slice(next, next + maxDocs);
        await this.writeFoldDocs(slice).catch(async (err: unknown) => {
          if (!isUnwritableDocumentError(err)) throw err;
          // Which one: each alone (a document written already is skipped by its watermarks).
          for (const doc of slice) {
            await this.writeFoldDocs([doc]).catch(async (alone: unknown) => {
              if (!isUnwritableDocumentError(alone)) throw alone;
              const { part, seq, change } = doc.pieces[0]!;
              await unwritable({ collection: doc.name, id: change._id, part, seq, error: (alone as Error).message, pieces: doc.pieces });
            });
          }
        });
        next += slice.length;
        const folded: string[] = [];
        for (const [id, n] of unwritten) if (n === 0) folded.push(id);
        for (const doc of slice) {
          for (const id of doc.deltas) {
            const n = unwritten.get(id)! - 1;
            unwritten.set(id, n);
            if (n === 0) folded.push(id);
          }
        }
        for (const id of folded) unwritten.delete(id);
        if (folded.length > 0) await collection.deleteMany({ _id: { $in: folded } });
      },
    };
  }

  /** A fold's documents, one guarded write per collection. */
  private async writeFoldDocs(docs: readonly FoldDoc[]): Promise<void> {
    const byCollection = new Map<string, Piece<RollupChange>[]>();
    for (const { name, pieces } of docs) {
      const list = byCollection.get(name) ?? [];
      list.push(...pieces);
      byCollection.set(name, list);
    }
    // Every collection's watermarks are read at once (reads run side by side, writes one at a time).
    const writes = [...byCollection].map(([name, pieces]) => this.guardedWrite(name, ROLLUP_WRITES, pieces));
    for (const write of writes) await write();
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
          inserts.push({ _id: id, ...userIds(user), ...fields, wm: {} });
        } else updates.push({ updateOne: { filter: { _id: id }, update: { $set: fields } } });
      }
      if (inserts.length > 0) await collection.insertMany(inserts, { ordered: false });
      for (let j = 0; j < updates.length; j += UPDATES_PER_COMMAND) await collection.bulkWrite(updates.slice(j, j + UPDATES_PER_COMMAND), { ordered: false });
    }
    return users.length;
  }

  /**
   * Writes each document's pieces that its watermarks do not hold yet: new documents
   * inserted whole, existing ones updated with the watermarks in the filter, so MongoDB
   * itself refuses a second application, even by a worker that lost its lease without
   * knowing it. A refused update (such a worker got there first) or a refused insert
   * (another worker inserted the document) is answered by reading the watermarks again.
   * Several pieces of one partition are its batches in order, none missing after what
   * the document holds (a fold takes every delta of a partition up to a batch).
   * Starts reading the watermarks now and returns the write.
   */
  private guardedWrite<C>(name: string, writes: DocWrites<C>, pieces: readonly Piece<C>[]): () => Promise<void> {
    if (pieces.length === 0) return () => Promise.resolve();
    const collection = this.collection(name);
    const byDoc = new Map<string, Piece<C>[]>();
    for (const piece of pieces) {
      const id = writes.id(piece.change);
      const list = byDoc.get(id);
      if (list === undefined) byDoc.set(id, [piece]);
      else list.push(piece);
    }
    const readMarks = async (ids: string[]) => {
      const found = await collection.find({ _id: { $in: ids as never[] } }, { projection: { wm: 1 } }).toArray();
      return new Map(found.map((d) => [d._id as unknown as string, (d.wm ?? {}) as Watermarks]));
    };
    const firstRead = readMarks([...byDoc.keys()]);
    // Awaited by the write; a failure before it gets there must not go unhandled.
    firstRead.catch(() => undefined);
    return () => this.writeGuarded(name, writes, byDoc, firstRead, readMarks);
  }

  private async writeGuarded<C>(
    name: string,
    writes: DocWrites<C>,
    byDoc: ReadonlyMap<string, Piece<C>[]>,
    firstRead: Promise<Map<string, Watermarks>>,
    readMarks: (ids: string[]) => Promise<Map<string, Watermarks>>,
  ): Promise<void> {
    const collection = this.collection(name);
    let pending = [...byDoc.keys()];
    for (let attempt = 1; ; attempt++) {
      const marks = attempt === 1 ? await firstRead : await readMarks(pending);
      const inserts: Document[] = [];
      const updates: AnyBulkWriteOperation[] = [];
      const updated: string[] = [];
      for (const id of pending) {
        const held = marks.get(id);
        const left = byDoc.get(id)!.filter((p) => (held?.[`p${p.part}`] ?? 0) < p.seq);
        if (left.length === 0) continue;
        const change = left.map((p) => p.change).reduce((a, b) => writes.sum(a, b));
        // Per partition: the newest batch is the new watermark, the oldest must not be held yet.
        const newest = new Map<number, number>();
        const oldest = new Map<number, number>();
        for (const { part, seq } of left) {
          newest.set(part, Math.max(seq, newest.get(part) ?? seq));
          oldest.set(part, Math.min(seq, oldest.get(part) ?? seq));
        }
        const wm = Object.fromEntries([...newest].map(([part, seq]) => [`p${part}`, seq]));
        if (held === undefined) {
          inserts.push({ _id: id, ...writes.insert(change), wm });
          continue;
        }
        const update = writes.update(change);
        update.$set = { ...(update.$set as Document | undefined), ...Object.fromEntries([...newest].map(([part, seq]) => [`wm.p${part}`, seq])) };
        const guard = Object.fromEntries([...oldest].map(([part, seq]) => [`wm.p${part}`, { $not: { $gte: seq } }]));
        updates.push({ updateOne: { filter: { _id: id as never, ...guard }, update } });
        updated.push(id);
      }
      const conflicts = inserts.length === 0 ? new Set<number>() : await insertSkippingDuplicates(collection, inserts);
      const again = [...conflicts].map((i) => inserts[i]!._id as string);
      for (let i = 0; i < updates.length; i += UPDATES_PER_COMMAND) {
        const result = await collection.bulkWrite(updates.slice(i, i + UPDATES_PER_COMMAND), { ordered: false });
        // Which update was refused is not reported: read all of this command's again.
        if (result.matchedCount < Math.min(UPDATES_PER_COMMAND, updates.length - i)) again.push(...updated.slice(i, i + UPDATES_PER_COMMAND));
      }
      if (again.length === 0) return;
      if (attempt >= APPLY_ATTEMPTS) throw new Error(`${name}: ${again.length} documents kept conflicting after ${attempt} attempts`);
      this.logger.debug({ collection: name, attempt, conflicts: again.length }, 'rollup write refused; reading the watermarks again');
      pending = again;
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


/** The whole documents of changes to documents that do not exist yet (the writer adds `_id` and `wm`). */
export function countDoc(c: CountChange): Document {
  return { projectId: c.projectId, event: c.event, bucket: c.bucket, count: c.count, by: nest(c.by), expireAt: c.expireAt };
}

export function activityDoc(a: ActivityChange): Document {
  return { projectId: a.projectId, day: a.day, dau: a.dau, wau: a.wau, mau: a.mau, expireAt: a.expireAt };
}

export function retentionDoc(r: RetentionChange): Document {
  return { projectId: r.projectId, cohort: r.cohort, r: Object.fromEntries([...r.r].map(([offset, n]) => [String(offset), n])), expireAt: r.expireAt };
}

const USER_WRITES: DocWrites<UserChange> = {
  id: (u) => u.id,
  sum() {
    // A user lives in one partition, and a cycle holds one batch per partition.
    throw new Error('two batches of one write cycle changed the same user');
  },
  update: (u) => ({
    $set: { ...userIds(u), ...Object.fromEntries(u.newDays.map((d) => [`days.${d}`, u.seq])) },
    $min: { firstSeen: u.firstSeen },
    $max: { lastSeen: u.lastSeen, expireAt: u.expireAt },
  }),
  insert: (u) => ({ ...userIds(u), days: Object.fromEntries(u.newDays.map((d) => [String(d), u.seq])), firstSeen: u.firstSeen, lastSeen: u.lastSeen, expireAt: u.expireAt }),
};

/** Rollup documents of every kind: their numbers are counters (model/collections.ts), the rest names the figure. */
const ROLLUP_WRITES: DocWrites<RollupChange> = {
  id: (c) => c._id,
  sum: (a, b) => addCounters(a, b) as RollupChange,
  update: (c) => ({ $inc: counters(c) }),
  insert: (c) => {
    const doc: Document = { ...c };
    delete doc._id;
    return doc;
  },
};

/** A rollup document's counters as dotted paths ({by: {platform: {web: 2}}} → {"by.platform.web": 2}). */
function counters(doc: Readonly<Document>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (prefix === '' && (key === '_id' || key === 'wm')) continue;
    if (typeof value === 'number') out[prefix + key] = value;
    else if (value !== null && typeof value === 'object' && !(value instanceof Date)) Object.assign(out, counters(value as Document, `${prefix}${key}.`));
  }
  return out;
}

/**
 * `a` with `b`'s counters added (the other fields are the same in both: they name the
 * figure). Own fields only: a breakdown value "constructor" or "toString" is a key like
 * any other, never the prototype's (the pipeline fuzz run found the sum turning into text).
 */
export function addCounters(a: Readonly<Document>, b: Readonly<Document>): Document {
  const sum: Document = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const held: unknown = Object.hasOwn(sum, key) ? sum[key] : undefined;
    if (typeof value === 'number') sum[key] = ((held as number | undefined) ?? 0) + value;
    else if (value !== null && typeof value === 'object' && !(value instanceof Date)) sum[key] = addCounters((held as Document | undefined) ?? {}, value as Document);
  }
  return sum;
}

/** One partition batch's rollup changes as delta documents, one per project (or several, when large). */
function rollupDeltas({ part, seq, plan }: PlannedBatch): RollupDeltaDoc[] {
  const byProject = new Map<string, Record<string, RollupChange[]>>();
  const add = (name: string, projectId: string, change: RollupChange) => {
    const changes = byProject.get(projectId) ?? {};
    (changes[name] ??= []).push(change);
    byProject.set(projectId, changes);
  };
  for (const g of GRANULARITIES) for (const c of plan.counts[g]) add(COUNT_COLLECTION[g], c.projectId, { _id: c.id, ...countDoc(c) });
  for (const a of plan.activity) add(COLLECTIONS.activity, a.projectId, { _id: a.id, ...activityDoc(a) });
  for (const r of plan.retentionDaily) add(COLLECTIONS.retentionDaily, r.projectId, { _id: r.id, ...retentionDoc(r) });
  for (const r of plan.retentionWeekly) add(COLLECTIONS.retentionWeekly, r.projectId, { _id: r.id, ...retentionDoc(r) });
  return [...byProject].flatMap(([projectId, changes]) => rollupDeltaDocs(projectId, part, seq, changes));
}

