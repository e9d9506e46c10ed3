/**
 * The day segments and persons a report reads (docs/reports.md#query-storage), kept in
 * this process's memory up to a byte bound, least recently used first out. A segment is
 * stamped with its day's counter (live/raw-day-versions.ts) read before its events, and
 * built again when the counter moved: a late event, a retry stored late or an erasure
 * rebuilds that day only. A segment not held is read from the archive when it holds the
 * day at that stamp, else built from the raw buckets and, for a closed UTC day, stored
 * there. Persons likewise follow the links counter.
 */
import type { Db } from 'mongodb';
import type { Logger } from '../core/logger.js';
import type { RawDayVersions } from '../live/raw-day-versions.js';
import { readPersons } from '../model/persons.js';
import { readRawDay } from '../model/raw-events.js';
import type { StampedEvent } from '../model/event-stream.js';
import { dayNumber } from '../model/time-buckets.js';
import { buildDaySegment, type DaySegment } from './day-segment.js';
import { segmentStamp, type SegmentArchive } from './segment-archive.js';
import { PersonNumbering } from './report-data.js';

/** Days read from the store at once by one report. */
const LOAD_CONCURRENCY = 4;

/** What a report may still spend: `check` throws once the events read pass the bound or the time is up. */
export interface LoadBudget {
  check(events: number): void;
}

interface Stamped<T> {
  epoch: string;
  version: number;
  value: T;
  bytes: number;
}

export interface LoadedDays {
  segments: DaySegment[];
  persons: PersonNumbering;
}

export class SegmentStore {
  private readonly held = new Map<string, Stamped<DaySegment>>();
  private readonly persons = new Map<string, Stamped<PersonNumbering>>();
  /** One build per day at a time: concurrent queries of a cold day share it. */
  private readonly building = new Map<string, Promise<DaySegment>>();
  private bytes = 0;

  constructor(
    private readonly db: Db,
    private readonly archive: SegmentArchive,
    private readonly maxBytes: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The segments of these UTC days (ascending) and the project's persons, as they stand
   * at `versions`; a few days built at a time, `budget` checked as each arrives.
   */
  async load(projectId: string, days: readonly number[], versions: RawDayVersions, budget: LoadBudget): Promise<LoadedDays> {
    let events = 0;
    const segments = new Array<DaySegment>(days.length);
    let next = 0;
    const worker = async () => {
      while (next < days.length) {
        const i = next++;
        segments[i] = await this.segment(projectId, days[i]!, versions);
        events += segments[i].size;
        budget.check(events);
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
    return { segments, persons: await this.personsOf(projectId, versions) };
  }

  private async segment(projectId: string, day: number, versions: RawDayVersions): Promise<DaySegment> {
    const key = `${projectId}|${day}`;
    const version = versions.days.get(day) ?? 0;
    const held = this.held.get(key);
    if (held !== undefined && held.epoch === versions.epoch && held.version === version) {
      // Most recently used last.
      this.held.delete(key);
      this.held.set(key, held);
      return held.value;
    }
    const buildKey = `${key}|${versions.epoch}|${version}`;
    let pending = this.building.get(buildKey);
    if (pending === undefined) {
      pending = this.obtain(projectId, day, segmentStamp(versions.epoch, version)).finally(() => this.building.delete(buildKey));
      this.building.set(buildKey, pending);
    }
    const segment = await pending;
    this.keep(key, { epoch: versions.epoch, version, value: segment, bytes: segment.bytes });
    return segment;
  }

  private async obtain(projectId: string, day: number, stamp: string): Promise<DaySegment> {
    const stored = await this.archive.read(projectId, day, stamp);
    if (stored !== undefined) return stored;
    const events: StampedEvent[] = [];
    for await (const bucket of readRawDay(this.db, projectId, day)) for (const e of bucket) events.push(e);
    const built = buildDaySegment(day, events);
    // The open day changes with every write cycle, and an empty day is as quick to read again: only closed days with events are worth storing.
    if (built.size > 0 && day < dayNumber(Date.now())) {
      // A failed write costs the next cold start a build, not this report its answer.
      await this.archive.write(projectId, day, stamp, built).catch((err: unknown) => this.logger.warn({ err, projectId, day }, 'could not store a report day segment; it is built again when next needed'));
    }
    return built;
  }

  private keep(key: string, entry: Stamped<DaySegment>): void {
    const old = this.held.get(key);
    if (old !== undefined) this.bytes -= old.bytes;
    this.held.delete(key);
    this.held.set(key, entry);
    this.bytes += entry.bytes;
    for (const [k, e] of this.held) {
      if (this.bytes <= this.maxBytes || k === key) break;
      this.held.delete(k);
      this.bytes -= e.bytes;
    }
  }

  private async personsOf(projectId: string, versions: RawDayVersions): Promise<PersonNumbering> {
    const held = this.persons.get(projectId);
    if (held !== undefined && held.epoch === versions.epoch && held.version === versions.links) return held.value;
    const numbering = new PersonNumbering(await readPersons(this.db, projectId));
    this.persons.set(projectId, { epoch: versions.epoch, version: versions.links, value: numbering, bytes: 0 });
    return numbering;
  }
}
