import { describe, expect, it } from 'vitest';
import { currentRate, rateSeries, topEvents } from './event-rates.js';

const M = 60_000;
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

describe('events per second from minute buckets', () => {
  it.each([
    ['at the minute start: the whole previous minute', T0, new Map([[T0 - M, 600]]), 10],
    ['half way: half the previous minute plus the current so far', T0 + 30_000, new Map([[T0 - M, 600], [T0, 300]]), 10],
    ['a steady 100/s stays 100/s through the minute', T0 + 45_000, new Map([[T0 - M, 6000], [T0, 4500]]), 100],
    ['nothing before: only the current minute counts', T0 + 15_000, new Map([[T0, 150]]), 2.5],
    ['a quiet project', T0 + 5_000, new Map<number, number>(), 0],
    ['minutes older than the previous one are out of the 60 s', T0 + 1_000, new Map([[T0 - 2 * M, 6000]]), 0],
    ['events stamped in the future (skewed clocks) are not counted yet', T0 + 1_000, new Map([[T0 + M, 6000]]), 0],
  ])('%s', (_case, now, totals, expected) => {
    expect(currentRate(totals, now)).toBeCloseTo(expected, 6);
  });

  it('gives one sparkline point per minute, the last one the current rate, none before the feed started', () => {
    const totals = new Map([[T0 - 3 * M, 60], [T0 - 2 * M, 120], [T0 - M, 180], [T0, 90]]);
    const series = rateSeries(totals, T0 + 30_000, 30, T0 - 3 * M);
    expect(series.xs).toEqual([T0 - 3 * M, T0 - 2 * M, T0 - M, T0].map((t) => t / 1000));
    expect(series.ys.slice(0, 3)).toEqual([1, 2, 3]);
    expect(series.ys[3]).toBeCloseTo((90 + 180 / 2) / 60, 6);
    expect(rateSeries(totals, T0 + 30_000, 2, 0).xs).toEqual([(T0 - M) / 1000, T0 / 1000]);
  });
});

describe('top events', () => {
  const counts = new Map([
    ['view', new Map([[T0, 50], [T0 - 10 * M, 50]])],
    ['signup', new Map([[T0, 10]])],
    ['buy', new Map([[T0 - 90 * M, 1000], [T0, 10]])],
    ['gone', new Map([[T0 - 120 * M, 5]])],
  ]);

  it('ranks by count over the window, ties by name, with the bar share of the busiest', () => {
    expect(topEvents(counts, T0 + 1000, 60, 10)).toEqual([
      { event: 'view', count: 100, share: 1 },
      { event: 'buy', count: 10, share: 0.1 },
      { event: 'signup', count: 10, share: 0.1 },
    ]);
  });

  it('keeps the first `limit`', () => {
    expect(topEvents(counts, T0 + 1000, 60, 1).map((t) => t.event)).toEqual(['view']);
    expect(topEvents(new Map(), T0, 60, 10)).toEqual([]);
  });
});
