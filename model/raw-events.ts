import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Binary, type Db, type FindCursor } from 'mongodb';
import { COLLECTIONS } from './collections.js';
import type { StampedEvent } from './event-stream.js';
import { dayNumber, dayToDate, GRANULARITY_MS } from './time-buckets.js';

/**
 * How raw events are kept in MongoDB (docs/aggregation.md#raw-events): the aggregator
 * writes them, and everything that reads raw events (recompute, reports, exports, GDPR)
 * reads them through this module.
 *
 * `raw_events`: one bucket document per project, UTC day, partition, batch and chunk of
 * at most RAW_BUCKET_EVENTS events and RAW_BUCKET_CHARS of JSON; the events as deflated
 * JSON in one binary field.
 * FerretDB converts every field of every document it stores, so one field for a
 * thousand events is what makes storing them cheap (measured: `npm run bench:store`).
 * Its `_id` names the batch, so a replayed batch writes the same documents again and
 * is refused as a duplicate.
 *
 * `event_ids`: one small document per client eventId, `_id` = `projectId|eventId`, `b` =
 * the batch that stored it (`part:seq`). Its unique `_id` is what drops a retry
 * however late it comes, and `b` tells a replay of the storing batch from a retry.
 * Server-made eventIds (ingest's UUIDs, `StampedEvent.generated`) can't repeat and get
 * none.
 *
 * `raw_days`: one document per project and UTC day that has buckets, `_id` =
 * `<day>|<projectId>`, written before the day's first bucket: what the expiry sweep reads
 * to find a day's buckets without scanning (docs/aggregation.md#expiry).
 */
export const RAW_BUCKET_EVENTS = 1000;
/**
 * A chunk's JSON in UTF-16 units: at most 12 MiB of UTF-8, so even incompressible events
 * (deflate adds 5 bytes per 64 KiB) stay under MongoDB's 16 MiB document limit; 1,000
 * events of 32 KiB would pass it.
 */
export const RAW_BUCKET_CHARS = 4 * 1024 * 1024;

export interface RawBucketDoc {
  _id: string;
  projectId: string;
  /** The UTC day of every event inside (by its timestamp). */
  day: Date;
  part: number;
  seq: number;
  /** Events inside. */
  n: number;
  /** Deflated JSON array of StampedEvent. */
  events: Binary;
  expireAt: Date;
}

export interface EventIdDoc {
  _id: string;
  /** The batch that stored the event: `part:seq`. */
  b: string;
}

export interface RawDayDoc {
  _id: string;
  projectId: string;
  day: Date;
}

export function rawDayDoc(projectId: string, day: number): RawDayDoc {
  return { _id: `${day}|${projectId}`, projectId, day: dayToDate(day) };
}

/** When the raw events of a UTC day expire: `expiryDays` after their day ends. */
export function rawDayExpiry(day: number, expiryDays: number): number {
  return (day + 1 + expiryDays) * GRANULARITY_MS.day;
}

/** Whether the raw events of a UTC day are past their retention at `at`. */
export function rawDayExpired(day: number, expiryDays: number, at: number): boolean {
  return rawDayExpiry(day, expiryDays) <= at;
}

export function eventIdKey(projectId: string, eventId: string): string {
  return `${projectId}|${eventId}`;
}

export function batchMark(part: number, seq: number): string {
  return `${part}:${seq}`;
}

/** Whether ingest made the eventId (no client retry can repeat it, so it needs no deduplication). */
export function needsDeduplication(event: StampedEvent): boolean {
  return event.generated !== true;
}

/** Events already serialized, one JSON text each. */
function encodeJsonEvents(jsons: readonly string[]): Binary {
  // Level 1: most of the size win at a fraction of the CPU (measured in bench:store).
  return new Binary(deflateRawSync(Buffer.from(`[${jsons.join(',')}]`), { level: 1 }));
}

export function decodeEvents(doc: Pick<RawBucketDoc, 'events'>): StampedEvent[] {
  return JSON.parse(inflateRawSync(doc.events.buffer).toString('utf8')) as StampedEvent[];
}

/**
 * The bucket documents of one batch's new events, in batch order: the same events give
 * the same documents, so a replay's insert is a duplicate of the first attempt's.
 */
export function bucketDocs(events: readonly StampedEvent[], part: number, seq: number, expiryDays: number): RawBucketDoc[] {
  const groups = new Map<string, { projectId: string; day: number; events: StampedEvent[] }>();
  for (const event of events) {
    const day = dayNumber(event.timestamp);
    const key = `${event.projectId}|${day}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { projectId: event.projectId, day, events: [] }));
    group.events.push(event);
  }
  const docs: RawBucketDoc[] = [];
  for (const { projectId, day, events: dayEvents } of groups.values()) {
    const first = docs.length;
    let chunk: string[] = [];
    let chars = 0;
    const close = () => {
      docs.push({
        _id: `${projectId}|${day}|p${part}|${seq}|${docs.length - first}`,
        projectId,
        day: dayToDate(day),
        part,
        seq,
        n: chunk.length,
        events: encodeJsonEvents(chunk),
        expireAt: new Date(rawDayExpiry(day, expiryDays)),
      });
      chunk = [];
      chars = 0;
    };
    for (const event of dayEvents) {
      const json = JSON.stringify(event);
      if (chunk.length === RAW_BUCKET_EVENTS || (chunk.length > 0 && chars + json.length > RAW_BUCKET_CHARS)) close();
      chunk.push(json);
      chars += json.length + 1;
    }
    if (chunk.length > 0) close();
  }
  return docs;
}

/**
 * A sample of a project's newest stored events (of one name, when given): day by day
 * from `today` back over at most `days` days, until `max` are found. For pickers, never
 * for figures.
 */
export async function newestRawEvents(db: Db, projectId: string, today: number, days: number, max: number, event?: string): Promise<StampedEvent[]> {
  const found: StampedEvent[] = [];
  for (let day = today; day > today - days && found.length < max; day--) {
    for await (const bucket of dayBuckets(db, projectId, day)) {
      for (const e of decodeEvents(bucket)) if (event === undefined || e.event === event) found.push(e);
      if (found.length >= max) break;
    }
  }
  return found.slice(0, max);
}

/**
 * One project's documents of one UTC day whose `_id` starts `<projectId>|<day>|` (raw
 * buckets, stored report segments): MongoDB and the local FerretDB (patched to push this
 * range down, docs/operations.md) read it from the `_id` index, where `{projectId, day}`
 * scans every document on FerretDB.
 */
export function dayIdRange(projectId: string, day: number): { _id: { $gte: string; $lt: string } } {
  return idPrefixRange(`${projectId}|${day}|`);
}

/** The `_id`s starting with `prefix` (ending in `|`): the range up to the same text ending in `}`, the character after `|`. */
export function idPrefixRange(prefix: string): { _id: { $gte: string; $lt: string } } {
  return { _id: { $gte: prefix, $lt: `${prefix.slice(0, -1)}}` } };
}

export interface RawEventRange {
  projectId: string;
  /** First and last UTC day numbers, inclusive. */
  fromDay: number;
  toDay: number;
}

/** One project's buckets of one UTC day, 20 at a time (memory stays flat). */
function dayBuckets(db: Db, projectId: string, day: number): FindCursor<RawBucketDoc> {
  return db.collection<RawBucketDoc>(COLLECTIONS.rawEvents).find(dayIdRange(projectId, day), { batchSize: 20 });
}

/** The events of one project's buckets of one UTC day, bucket by bucket. */
export async function* readRawDay(db: Db, projectId: string, day: number): AsyncGenerator<StampedEvent[]> {
  for await (const bucket of dayBuckets(db, projectId, day)) yield decodeEvents(bucket);
}

/** Every stored event of a project whose UTC day is in the range, one bucket at a time (memory stays flat). */
export async function* readRawEvents(db: Db, range: RawEventRange): AsyncGenerator<StampedEvent & { part: number }> {
  for (let day = range.fromDay; day <= range.toDay; day++) {
    for await (const bucket of dayBuckets(db, range.projectId, day)) {
      for (const event of decodeEvents(bucket)) yield { ...event, part: bucket.part };
    }
  }
}
