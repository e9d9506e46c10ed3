import type { Db } from 'mongodb';
import { COLLECTIONS, type ActivityDoc, type CountDoc, type RetentionDoc, type Watermarks } from './collections.js';
import { escapeKey } from './field-names.js';
import type { DeltaEntry } from './live-feed.js';
import type { DocChange, LoadedDoc } from './live-state.js';
import { findRollups, readDeltas } from './rollup-deltas.js';
import { bucketStart, dayNumber, dayToDate, parseDay } from './time-buckets.js';

/**
 * Which figures a live consumer keeps of a project, how they are loaded from the
 * rollups and how a feed delta maps onto them. Cell keys are JSON arrays:
 *   ["c", event, bucketMs]                  minute count
 *   ["c", event, bucketMs, "dim.value"]     minute count of one dimension value
 *   ["a", day, "dau" | "wau" | "mau"]       active users of a UTC day number
 *   ["r", cohortDay, offset]                daily retention cell
 */
export interface LiveNeeds {
  /** Minute buckets kept, counting back from now (0: none). */
  minutes: number;
  /** Only these events (undefined: all). */
  events?: ReadonlySet<string>;
  /** Also per dimension value (alert filters). */
  dimensions: boolean;
  /** DAU/WAU/MAU of yesterday, today and tomorrow. */
  activity: boolean;
  /** Daily retention cohorts of the last N days (0: none). */
  retentionDays: number;
}

export const countKey = (event: string, bucketMs: number) => JSON.stringify(['c', event, bucketMs]);
/** `dimValue` as rollups and deltas store it: "dimension.value", the value escaped. */
const storedDimensionKey = (event: string, bucketMs: number, dimValue: string) => JSON.stringify(['c', event, bucketMs, dimValue]);
export const dimensionKey = (event: string, bucketMs: number, dimension: string, value: string) => storedDimensionKey(event, bucketMs, `${dimension}.${escapeKey(value)}`);
export const activityKey = (day: number, field: 'dau' | 'wau' | 'mau') => JSON.stringify(['a', day, field]);
export const retentionKey = (cohortDay: number, offset: number) => JSON.stringify(['r', cohortDay, offset]);

// A minute document's identity is its count cell's key.
const countDocId = countKey;
const activityDocId = (day: number) => JSON.stringify(['a', day]);
const retentionDocId = (cohortDay: number) => JSON.stringify(['r', cohortDay]);

const MINUTE_MS = 60_000;

/** A rollup document's watermarks: partition → the last batch of it the document holds. */
function marksOf(wm: Watermarks | undefined): { marks: Map<number, number> } {
  return { marks: new Map(Object.entries(wm ?? {}).map(([key, batch]) => [Number(key.slice(1)), batch])) };
}

/** The first minute bucket kept at `now`. */
export function windowStart(needs: LiveNeeds, now: number): number {
  return bucketStart(now, 'minute') - (needs.minutes - 1) * MINUTE_MS;
}

export async function loadLiveDocs(db: Db, projectId: string, needs: LiveNeeds, now: number): Promise<LoadedDoc[]> {
  const docs: LoadedDoc[] = [];
  const today = dayNumber(now);
  // Once for the three collections, before their documents (see withDeltas).
  const deltas = await readDeltas(db, projectId);
  const reads: Promise<void>[] = [];
  if (needs.minutes > 0 && (needs.events === undefined || needs.events.size > 0)) {
    const filter = { projectId, bucket: { $gte: new Date(windowStart(needs, now)) }, ...(needs.events === undefined ? {} : { event: { $in: [...needs.events] } }) };
    reads.push(
      findRollups<CountDoc>(db, COLLECTIONS.countsMinute, filter, deltas).then((found) => {
        for (const d of found) {
          const t = d.bucket.getTime();
          const cells: [string, number][] = [[countKey(d.event, t), d.count]];
          if (needs.dimensions) {
            for (const [dimension, values] of Object.entries(d.by ?? {})) {
              for (const [value, n] of Object.entries(values)) cells.push([storedDimensionKey(d.event, t, `${dimension}.${value}`), n]);
            }
          }
          docs.push({ doc: countDocId(d.event, t), ...marksOf(d.wm), cells });
        }
      }),
    );
  }
  if (needs.activity) {
    reads.push(
      findRollups<ActivityDoc>(db, COLLECTIONS.activity, { projectId, day: { $gte: dayToDate(today - 1), $lte: dayToDate(today + 1) } }, deltas).then((found) => {
        for (const d of found) {
          const day = dayNumber(d.day.getTime());
          docs.push({ doc: activityDocId(day), ...marksOf(d.wm), cells: [[activityKey(day, 'dau'), d.dau], [activityKey(day, 'wau'), d.wau], [activityKey(day, 'mau'), d.mau]] });
        }
      }),
    );
  }
  if (needs.retentionDays > 0) {
    reads.push(
      findRollups<RetentionDoc>(db, COLLECTIONS.retentionDaily, { projectId, cohort: { $gte: dayToDate(today - needs.retentionDays + 1) } }, deltas).then((found) => {
        for (const d of found) {
          const cohort = dayNumber(d.cohort.getTime());
          docs.push({ doc: retentionDocId(cohort), ...marksOf(d.wm), cells: Object.entries(d.r).map(([offset, n]) => [retentionKey(cohort, Number(offset)), n] as const) });
        }
      }),
    );
  }
  await Promise.all(reads);
  return docs;
}

/** What a delta changes among the figures a consumer keeps (everything else it carries is ignored). */
export function deltaChanges(entry: DeltaEntry, needs: LiveNeeds): DocChange[] {
  const changes: DocChange[] = [];
  if (needs.minutes > 0) {
    for (const c of entry.counts) {
      if (needs.events !== undefined && !needs.events.has(c.event)) continue;
      const t = Date.parse(c.bucket);
      const cells: [string, number][] = [[countKey(c.event, t), c.increment]];
      if (needs.dimensions && c.by !== undefined) for (const [dimValue, n] of Object.entries(c.by)) cells.push([storedDimensionKey(c.event, t, dimValue), n]);
      changes.push({ doc: countDocId(c.event, t), cells });
    }
  }
  if (needs.activity) {
    for (const a of entry.activeUsers) {
      const day = parseDay(a.date)!;
      changes.push({ doc: activityDocId(day), cells: [[activityKey(day, 'dau'), a.dau], [activityKey(day, 'wau'), a.wau], [activityKey(day, 'mau'), a.mau]] });
    }
  }
  if (needs.retentionDays > 0) {
    const byCohort = new Map<string, [string, number][]>();
    for (const r of entry.retention) {
      const cohort = parseDay(r.cohort)!;
      const cells = byCohort.get(r.cohort) ?? [];
      cells.push([retentionKey(cohort, r.offset), r.increment]);
      byCohort.set(r.cohort, cells);
    }
    for (const [cohort, cells] of byCohort) changes.push({ doc: retentionDocId(parseDay(cohort)!), cells });
  }
  return changes;
}

/** Cells outside what the consumer keeps at `now` (minute buckets before its window, cohorts and days gone by). */
export function staleCell(needs: LiveNeeds, now: number): (key: string) => boolean {
  const first = windowStart(needs, now);
  const today = dayNumber(now);
  return (key) => {
    const [kind, a, b] = JSON.parse(key) as [string, string | number, number];
    if (kind === 'c') return b < first;
    if (kind === 'a') return (a as number) < today - 1;
    return (a as number) < today - needs.retentionDays + 1;
  };
}
