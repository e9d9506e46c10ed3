import { describe, expect, it } from 'vitest';
import { baseQueries, chartRange, chartSeries, foldPoints } from './chart-series.js';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const plan = (qs: ReturnType<typeof baseQueries>) => qs.map((q) => `${q.granularity} ${iso(q.from)}..${iso(q.to)}`);

describe('the chart range', () => {
  it.each([
    ['minute', 60, M],
    ['hour', 48, H],
    ['day', 30, D],
  ] as const)('%s: %i buckets ending with the current one', (granularity, buckets, size) => {
    const now = at('2026-11-23T10:17:42.000Z');
    const range = chartRange(granularity, now);
    expect((range.end - range.start) / size + 1).toBe(buckets);
    expect(range.end).toBeLessThanOrEqual(now);
    expect(now - range.end).toBeLessThan(size);
  });
});

describe('the REST part of the chart', () => {
  const now = at('2026-11-23T10:17:42.000Z');
  const liveFrom = at('2026-11-23T09:18:00.000Z');

  it.each([
    ['minutes: all live when the feed holds the whole range', 'minute', liveFrom, []],
    ['hours: whole hours from the API, the minutes of the hour the feed starts in', 'hour', liveFrom, ['hour 2026-11-21T11:00:00.000Z..2026-11-23T08:00:00.000Z', 'minute 2026-11-23T09:00:00.000Z..2026-11-23T09:17:00.000Z']],
    ['days: whole days, then hours, then minutes up to the feed', 'day', liveFrom, ['day 2026-10-25T00:00:00.000Z..2026-11-22T00:00:00.000Z', 'hour 2026-11-23T00:00:00.000Z..2026-11-23T08:00:00.000Z', 'minute 2026-11-23T09:00:00.000Z..2026-11-23T09:17:00.000Z']],
    ['days, the feed starting on an hour: no minute query', 'day', at('2026-11-23T09:00:00.000Z'), ['day 2026-10-25T00:00:00.000Z..2026-11-22T00:00:00.000Z', 'hour 2026-11-23T00:00:00.000Z..2026-11-23T08:00:00.000Z']],
    ['before the feed answered: the whole range from the API', 'hour', null, ['hour 2026-11-21T11:00:00.000Z..2026-11-23T10:00:00.000Z']],
    ['a feed older than the range: nothing from the API', 'minute', at('2026-11-23T07:00:00.000Z'), []],
  ] as const)('%s', (_case, granularity, from, expected) => {
    expect(plan(baseQueries(chartRange(granularity, now), from))).toEqual(expected);
  });

  it('minutes: the part before a shorter live window comes from the API', () => {
    expect(plan(baseQueries(chartRange('minute', now), at('2026-11-23T09:48:00.000Z')))).toEqual(['minute 2026-11-23T09:18:00.000Z..2026-11-23T09:47:00.000Z']);
  });
});

describe('the chart series', () => {
  const now = at('2026-11-23T10:17:42.000Z');
  const liveFrom = at('2026-11-23T09:18:00.000Z');

  it('adds the live minutes to the API buckets, never the same minute from both', () => {
    const range = chartRange('hour', now);
    const base = new Map<number, number>();
    foldPoints(base, [{ t: '2026-11-23T08:00:00.000Z', count: 7 }], 'hour');
    // The API's minutes of 09:00-09:17, folded into the 09:00 bucket.
    foldPoints(base, [{ t: '2026-11-23T09:05:00.000Z', count: 2 }, { t: '2026-11-23T09:17:00.000Z', count: 3 }], 'hour');
    const live = new Map([[at('2026-11-23T09:18:00.000Z'), 4], [at('2026-11-23T10:01:00.000Z'), 5], [at('2026-11-23T10:17:00.000Z'), 6], [at('2026-11-23T09:10:00.000Z'), 100]]);
    const series = chartSeries(range, base, live, liveFrom);
    const byTime = new Map(series.xs.map((x, i) => [iso(x * 1000), series.ys[i]]));
    expect(byTime.get('2026-11-23T08:00:00.000Z')).toBe(7);
    // 09:10 from the live map is before liveFrom (a late delta): the API's part holds that minute.
    expect(byTime.get('2026-11-23T09:00:00.000Z')).toBe(2 + 3 + 4);
    expect(byTime.get('2026-11-23T10:00:00.000Z')).toBe(11);
    expect(series).toMatchObject({ total: 27, latest: 11, peak: { t: at('2026-11-23T10:00:00.000Z'), count: 11 } });
    expect(series.xs).toHaveLength(48);
  });

  it('is all zeros (every bucket present) for an event with no counts', () => {
    const series = chartSeries(chartRange('minute', now), new Map(), undefined, liveFrom);
    expect(series.ys).toEqual(new Array(60).fill(0));
    expect(series).toMatchObject({ total: 0, latest: 0, peak: null });
  });

  it('skips empty and unreadable points when folding', () => {
    const into = new Map<number, number>();
    foldPoints(into, [{ t: 'nonsense', count: 3 }, { t: '2026-11-23T10:00:00.000Z', count: 0 }, { t: '2026-11-23T10:59:00.000Z', count: 1 }], 'day');
    expect([...into]).toEqual([[at('2026-11-23T00:00:00.000Z'), 1]]);
  });
});
