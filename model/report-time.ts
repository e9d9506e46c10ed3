/**
 * A report's time: its range and its intervals in an IANA time zone (days, weeks from
 * Monday and months start at local midnight; minutes and hours are real-time steps from
 * the first local boundary). Pure; Node's Intl holds the zone rules.
 */
import { GRANULARITY_MS } from './time-buckets.js';

export type ReportInterval = 'minute' | 'hour' | 'day' | 'week' | 'month';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Node knows `timeZone` (an IANA name such as "Europe/Berlin", or "UTC"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localTime(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const { type, value } of formatter(timeZone).formatToParts(ms)) if (type !== 'literal') parts[type] = Number(value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at instant `ms` (local = UTC + offset), to the second. */
function offsetAt(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The first instant of a local calendar day: its midnight, or, when a DST change skips
 * midnight (America/Santiago, Asia/Beirut), the end of the gap. `month` and `day` may
 * overflow (month 13 is next January).
 */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Any change near the date is between the offsets a day before and a day after.
  const offsets = [offsetAt(wall - GRANULARITY_MS.day, timeZone), offsetAt(wall + GRANULARITY_MS.day, timeZone)];
  const exact = offsets.map((o) => wall - o).filter((u) => offsetAt(u, timeZone) === wall - u);
  if (exact.length > 0) return Math.min(...exact);
  // In a gap: the first instant whose local time is at or past midnight.
  let [low, high] = [wall - Math.max(...offsets), wall - Math.min(...offsets)];
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (mid + offsetAt(mid, timeZone) >= wall) high = mid;
    else low = mid;
  }
  return high;
}

/** The local calendar date of an instant. */
export function localDate(ms: number, timeZone: string): { year: number; month: number; day: number } {
  const { year, month, day } = localTime(ms, timeZone);
  return { year, month, day };
}

/** The start of the interval holding instant `ms`. */
export function intervalStart(ms: number, interval: ReportInterval, timeZone: string): number {
  const t = localTime(ms, timeZone);
  switch (interval) {
    case 'minute':
      return ms - ((((ms % 60_000) + 60_000) % 60_000));
    case 'hour':
      // The local hour began t.minute minutes and t.second seconds ago (offsets are whole minutes).
      return ms - (((ms % 1000) + 1000) % 1000) - t.minute * 60_000 - t.second * 1000;
    case 'day':
      return localMidnight(t.year, t.month, t.day, timeZone);
    case 'week': {
      // Monday first: days since Monday of the local date.
      const weekday = (new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay() + 6) % 7;
      return localMidnight(t.year, t.month, t.day - weekday, timeZone);
    }
    case 'month':
      return localMidnight(t.year, t.month, 1, timeZone);
  }
}

/** The start of the interval after the one starting at `start`. */
export function nextIntervalStart(start: number, interval: ReportInterval, timeZone: string): number {
  if (interval === 'minute') return start + GRANULARITY_MS.minute;
  if (interval === 'hour') return start + GRANULARITY_MS.hour;
  const t = localDate(start, timeZone);
  if (interval === 'day') return localMidnight(t.year, t.month, t.day + 1, timeZone);
  if (interval === 'week') return localMidnight(t.year, t.month, t.day + 7, timeZone);
  return localMidnight(t.year, t.month + 1, 1, timeZone);
}

/**
 * The starts of the intervals that overlap [from, to), first one at or before `from`;
 * undefined when there would be more than `max` (the caller names the bound).
 */
export function intervalStarts(from: number, to: number, interval: ReportInterval, timeZone: string, max: number): number[] | undefined {
  const starts: number[] = [];
  for (let t = intervalStart(from, interval, timeZone); t < to; t = nextIntervalStart(t, interval, timeZone)) {
    if (starts.length === max) return undefined;
    starts.push(t);
  }
  return starts;
}
