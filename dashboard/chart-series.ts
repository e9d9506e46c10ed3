import { bucketStart, GRANULARITY_MS, type Granularity } from '../model/time-buckets.js';

export type { Granularity };
export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day'];

/** How many buckets the chart shows, the current one last: an hour of minutes, two days of hours, a month of days. */
export const CHART_BUCKETS: Readonly<Record<Granularity, number>> = { minute: 60, hour: 48, day: 30 };

export interface ChartRange {
  granularity: Granularity;
  /** The first bucket's start (ms). */
  start: number;
  /** The last (current) bucket's start (ms). */
  end: number;
}

export function chartRange(granularity: Granularity, now: number): ChartRange {
  const end = bucketStart(now, granularity);
  return { granularity, start: end - (CHART_BUCKETS[granularity] - 1) * GRANULARITY_MS[granularity], end };
}

/** One GET /v1/metrics/timeseries: `from` and `to` are the first and last bucket starts. */
export interface BaseQuery {
  granularity: Granularity;
  from: number;
  to: number;
}

/**
 * The REST queries for the part of the chart the live feed does not hold: from the
 * range's start to `liveFrom` (the events snapshot's `from`, a minute boundary), or the
 * whole range before the feed answered (null). The live minutes are added on top, so
 * nothing is counted twice; the hour (and day) the feed starts in is filled from finer
 * buckets up to `liveFrom`, since a whole hour from the API would overlap the feed.
 */
export function baseQueries(range: ChartRange, liveFrom: number | null): BaseQuery[] {
  const cut = liveFrom === null ? range.end + GRANULARITY_MS[range.granularity] : Math.max(range.start, Math.min(liveFrom, range.end + GRANULARITY_MS[range.granularity]));
  const finer: Granularity[] = range.granularity === 'day' ? ['day', 'hour', 'minute'] : range.granularity === 'hour' ? ['hour', 'minute'] : ['minute'];
  const queries: BaseQuery[] = [];
  let from = range.start;
  for (const granularity of finer) {
    const until = bucketStart(cut, granularity);
    if (until > from) queries.push({ granularity, from, to: until - GRANULARITY_MS[granularity] });
    from = Math.max(from, until);
  }
  return queries;
}

/** Adds an API answer's points to the chart's buckets (a finer answer's points fold into the bucket holding them). */
export function foldPoints(into: Map<number, number>, points: readonly { t: string; count: number }[], granularity: Granularity): void {
  for (const p of points) {
    const t = Date.parse(p.t);
    if (Number.isNaN(t) || p.count === 0) continue;
    const bucket = bucketStart(t, granularity);
    into.set(bucket, (into.get(bucket) ?? 0) + p.count);
  }
}

export interface ChartSeries {
  /** Bucket starts in seconds (uPlot's x values). */
  xs: number[];
  ys: number[];
  total: number;
  latest: number;
  peak: { t: number; count: number } | null;
}

/**
 * The chart's figures: the API's counts before `liveFrom` plus the live minute counts
 * from `liveFrom` on, folded into the chosen granularity.
 */
export function chartSeries(range: ChartRange, base: ReadonlyMap<number, number>, live: ReadonlyMap<number, number> | undefined, liveFrom: number | null): ChartSeries {
  const size = GRANULARITY_MS[range.granularity];
  const sums = new Map(base);
  if (live !== undefined && liveFrom !== null) {
    for (const [minute, n] of live) {
      if (minute < liveFrom || minute < range.start) continue;
      const bucket = bucketStart(minute, range.granularity);
      if (bucket > range.end) continue;
      sums.set(bucket, (sums.get(bucket) ?? 0) + n);
    }
  }
  const xs: number[] = [];
  const ys: number[] = [];
  let total = 0;
  let peak: ChartSeries['peak'] = null;
  for (let t = range.start; t <= range.end; t += size) {
    const count = sums.get(t) ?? 0;
    xs.push(t / 1000);
    ys.push(count);
    total += count;
    if (count > 0 && (peak === null || count > peak.count)) peak = { t, count };
  }
  return { xs, ys, total, latest: ys.at(-1) ?? 0, peak };
}
