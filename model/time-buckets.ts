/** UTC time buckets shared by the aggregator (writing) and the api (reading). Pure functions. */
export type Granularity = 'minute' | 'hour' | 'day';

export const GRANULARITY_MS: Readonly<Record<Granularity, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const DAY_MS = GRANULARITY_MS.day;

export function bucketStart(epochMs: number, granularity: Granularity): number {
  const size = GRANULARITY_MS[granularity];
  return Math.floor(epochMs / size) * size;
}

/** Whole UTC days since 1970-01-01. */
export function dayNumber(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

export function dayToDate(day: number): Date {
  return new Date(day * DAY_MS);
}

/** 'YYYY-MM-DD' of a day number. */
export function formatDay(day: number): string {
  return dayToDate(day).toISOString().slice(0, 10);
}

/** The day number of a 'YYYY-MM-DD' string, or undefined when it is not a real calendar date. */
export function parseDay(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms) || formatDay(ms / DAY_MS) !== text) return undefined;
  return ms / DAY_MS;
}

/**
 * Weeks start on Monday (ISO 8601). Day 0 (1970-01-01) was a Thursday, so the week
 * holding day d is floor((d + 3) / 7), and it starts on day 7w - 3.
 */
export function weekNumber(day: number): number {
  return Math.floor((day + 3) / 7);
}

export function weekStartDay(week: number): number {
  return week * 7 - 3;
}
