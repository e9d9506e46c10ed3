/**
 * Exact active-user and retention figures as per-user contributions. A user's
 * contribution is a function of the set of UTC days they were active on; when a batch
 * adds days to a user, the figures change by contribution(after) - contribution(before).
 * Because `before` is recoverable on replay (the days recorded by earlier batches),
 * a replayed batch computes the very same deltas. Pure functions, no I/O.
 */
import { weekNumber } from '../model/time-buckets.js';

export const WAU_DAYS = 7;
export const MAU_DAYS = 30;

/** Signed changes keyed by day (active users) or by "cohort:offset" (retention). */
export type DeltaMap = Map<number, number>;
export type CellDeltaMap = Map<string, number>;

export interface ActivityDeltas {
  dau: DeltaMap;
  wau: DeltaMap;
  mau: DeltaMap;
  /** "cohortDay:offsetDays" → change; offset 0 is the cohort size. */
  retentionDaily: CellDeltaMap;
  /** "cohortWeek:offsetWeeks" → change. */
  retentionWeekly: CellDeltaMap;
}

export function emptyDeltas(): ActivityDeltas {
  return { dau: new Map(), wau: new Map(), mau: new Map(), retentionDaily: new Map(), retentionWeekly: new Map() };
}

function add<K>(map: Map<K, number>, key: K, change: number): void {
  const next = (map.get(key) ?? 0) + change;
  if (next === 0) map.delete(key);
  else map.set(key, next);
}

/** The days D whose trailing window of `width` days holds at least one active day. */
function covered(days: ReadonlySet<number>, width: number): Set<number> {
  const result = new Set<number>();
  for (const day of days) for (let d = day; d < day + width; d++) result.add(d);
  return result;
}

function retentionCells(days: ReadonlySet<number>, horizon: number): string[] {
  if (days.size === 0) return [];
  const cohort = Math.min(...days);
  const cells: string[] = [];
  for (const day of days) if (day - cohort <= horizon) cells.push(`${cohort}:${day - cohort}`);
  return cells;
}

export interface Horizons {
  days: number;
  weeks: number;
}

/**
 * Adds to `deltas` how one user's contribution changes when their active days go
 * from `before` to `after` (after ⊇ before).
 */
export function addUserDelta(deltas: ActivityDeltas, before: ReadonlySet<number>, after: ReadonlySet<number>, horizons: Horizons): void {
  for (const day of after) if (!before.has(day)) add(deltas.dau, day, 1);
  for (const [width, target] of [[WAU_DAYS, deltas.wau], [MAU_DAYS, deltas.mau]] as const) {
    const was = covered(before, width);
    for (const day of covered(after, width)) if (!was.has(day)) add(target, day, 1);
  }
  const weeks = (days: ReadonlySet<number>) => new Set([...days].map(weekNumber));
  for (const [cells, target] of [
    [(d: ReadonlySet<number>) => retentionCells(d, horizons.days), deltas.retentionDaily],
    [(d: ReadonlySet<number>) => retentionCells(weeks(d), horizons.weeks), deltas.retentionWeekly],
  ] as const) {
    for (const cell of cells(before)) add(target, cell, -1);
    for (const cell of cells(after)) add(target, cell, 1);
  }
}
