import { breakdownFieldName } from '../model/store-text.js';
import { bucketStart, dayNumber, GRANULARITY_MS, parseDay } from '../model/time-buckets.js';
import type { DeltaEntry } from './feed.js';
import type { DocChange } from './live-figures.js';

/**
 * The live figures as cells, pure: which figures a live consumer keeps of a project
 * (LiveNeeds), the cells' keys, and how a feed delta maps onto them (load-figures.ts
 * loads them from the rollups). Cell keys are JSON arrays:
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
/** `dimValue` as rollups and deltas store it: "dimension.value", the value as its storable field name. */
export const storedDimensionKey = (event: string, bucketMs: number, dimValue: string) => JSON.stringify(['c', event, bucketMs, dimValue]);
/** A value as a client names it (an alert rule's filter): mapped as the aggregator maps what it counts. */
export const dimensionKey = (event: string, bucketMs: number, dimension: string, value: string) => storedDimensionKey(event, bucketMs, `${dimension}.${breakdownFieldName(value)}`);
export const activityKey = (day: number, field: 'dau' | 'wau' | 'mau') => JSON.stringify(['a', day, field]);
export const retentionKey = (cohortDay: number, offset: number) => JSON.stringify(['r', cohortDay, offset]);

// A minute document's identity is its count cell's key.
export const countDocId = countKey;
export const activityDocId = (day: number) => JSON.stringify(['a', day]);
export const retentionDocId = (cohortDay: number) => JSON.stringify(['r', cohortDay]);

/** The first minute bucket kept at `now`. */
export function windowStart(needs: LiveNeeds, now: number): number {
  return bucketStart(now, 'minute') - (needs.minutes - 1) * GRANULARITY_MS.minute;
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
