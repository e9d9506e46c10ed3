import { bucketStart, GRANULARITY_MS } from '../model/time-buckets.js';

const MINUTE = GRANULARITY_MS.minute;

/**
 * Events per second from minute buckets (all events together, bucket start ms → count).
 * The live feed counts per minute, so "now" is the trailing 60 s: the current minute so
 * far plus the share of the previous minute still inside those 60 s (counts are taken to
 * be spread evenly over their minute). It moves smoothly as the minute turns instead of
 * dropping to zero at :00.
 */
export function currentRate(totals: ReadonlyMap<number, number>, now: number): number {
  const current = bucketStart(now, 'minute');
  const elapsed = (now - current) / MINUTE;
  const previous = totals.get(current - MINUTE) ?? 0;
  return ((totals.get(current) ?? 0) + previous * (1 - elapsed)) / 60;
}

export interface RateSeries {
  /** Bucket starts, in seconds (uPlot's x values). */
  xs: number[];
  /** Events per second: each past minute's average, the last point currentRate. */
  ys: number[];
}

/**
 * The sparkline: one point per minute for the last `minutes` minutes (none before
 * `since`, the start of what the live feed told us), the current one as `currentRate`.
 */
export function rateSeries(totals: ReadonlyMap<number, number>, now: number, minutes: number, since: number): RateSeries {
  const current = bucketStart(now, 'minute');
  const first = Math.max(current - (minutes - 1) * MINUTE, bucketStart(since, 'minute'));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = first; t < current; t += MINUTE) {
    xs.push(t / 1000);
    ys.push((totals.get(t) ?? 0) / 60);
  }
  xs.push(current / 1000);
  ys.push(currentRate(totals, now));
  return { xs, ys };
}

export interface TopEvent {
  event: string;
  count: number;
  /** Of the busiest event's count, 0-1 (the bar's length). */
  share: number;
}

/** The busiest events over the last `minutes` minutes, busiest first (ties by name). */
export function topEvents(counts: ReadonlyMap<string, ReadonlyMap<number, number>>, now: number, minutes: number, limit: number): TopEvent[] {
  const first = bucketStart(now, 'minute') - (minutes - 1) * MINUTE;
  const sums: { event: string; count: number }[] = [];
  for (const [event, buckets] of counts) {
    let count = 0;
    for (const [t, n] of buckets) if (t >= first) count += n;
    if (count > 0) sums.push({ event, count });
  }
  sums.sort((a, b) => b.count - a.count || (a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
  const top = sums.slice(0, limit);
  const max = top[0]?.count ?? 1;
  return top.map((t) => ({ ...t, share: t.count / max }));
}
