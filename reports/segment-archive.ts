/**
 * Built day segments kept in MongoDB beside the raw buckets (docs/reports.md#query-storage),
 * so a process that starts cold, or another api process, reads a closed day's columns
 * (about 40 ms a day of 333,000 events to decode) instead of parsing its events' JSON
 * again (about 2.5 s).
 *
 * `report_segments`: per project and UTC day, the encoded segment (reports/segment-codec.ts)
 * in chunks of at most CHUNK_BYTES, `_id` = `<projectId>|<day>|<chunk>`, each carrying
 * the stamp it was built at: the day's counter and the counters' epoch
 * (live/raw-day-versions.ts) and the format. A reader takes the chunks only when all of
 * them carry the stamp it expects, so a day whose counter moved, a half-written set or
 * an older format is built again from the raw buckets and written over.
 */
import { Binary, type Db } from 'mongodb';
import { COLLECTIONS } from '../model/collections.js';
import { dayIdRange, rawDayExpiry } from '../model/raw-events.js';
import { dayToDate } from '../model/time-buckets.js';
import type { DaySegment } from './day-segment.js';
import { decodeDaySegment, encodeDaySegment, SEGMENT_FORMAT } from './segment-codec.js';

/** Bytes of encoded segment per document: far under the 16 MiB document limit, also as FerretDB's base64 text. */
const CHUNK_BYTES = 4 * 1024 * 1024;

export interface SegmentDoc {
  _id: string;
  projectId: string;
  day: Date;
  /** `<epoch>|<counter>|<format>`: what the segment was built from. */
  stamp: string;
  /** This chunk's place, and how many the segment has. */
  chunk: number;
  chunks: number;
  data: Binary;
  expireAt: Date;
}

export function segmentStamp(epoch: string, counter: number): string {
  return `${epoch}|${counter}|${SEGMENT_FORMAT}`;
}

export class SegmentArchive {
  constructor(
    private readonly db: Db,
    /** Days a segment is kept after its day ends: as long as its raw events (EXPIRY_RAW_DAYS). */
    private readonly expiryDays: number,
  ) {}

  private get collection() {
    return this.db.collection<SegmentDoc>(COLLECTIONS.reportSegments);
  }

  /** The stored segment of this day when it was built at `stamp`, else undefined. */
  async read(projectId: string, day: number, stamp: string): Promise<DaySegment | undefined> {
    const docs = await this.collection.find(dayIdRange(projectId, day)).toArray();
    const chunks = docs.filter((d) => d.stamp === stamp).sort((a, b) => a.chunk - b.chunk);
    if (chunks.length === 0 || chunks.length !== chunks[0]!.chunks || chunks.some((d, i) => d.chunk !== i)) return undefined;
    return decodeDaySegment(chunks.length === 1 ? chunks[0]!.data.buffer : Buffer.concat(chunks.map((d) => d.data.buffer)));
  }

  /** Stores the segment built at `stamp` over any earlier one of its day. */
  async write(projectId: string, day: number, stamp: string, segment: DaySegment): Promise<void> {
    const encoded = encodeDaySegment(segment);
    const chunks = Math.max(1, Math.ceil(encoded.length / CHUNK_BYTES));
    const expireAt = new Date(rawDayExpiry(day, this.expiryDays));
    for (let chunk = 0; chunk < chunks; chunk++) {
      const _id = `${projectId}|${day}|${chunk}`;
      const data = new Binary(encoded.subarray(chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES));
      await this.collection.replaceOne({ _id }, { projectId, day: dayToDate(day), stamp, chunk, chunks, data, expireAt }, { upsert: true });
    }
    // Chunks past the new count belonged to a larger earlier build.
    await this.collection.deleteMany({ ...dayIdRange(projectId, day), chunk: { $gte: chunks } });
  }
}
