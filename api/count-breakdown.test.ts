import { describe, expect, it } from 'vitest';
import { escapeKey } from '../model/field-names.js';
import { OTHER_VALUE } from '../model/breakdown-values.js';
import { breakdownSeries } from './count-breakdown.js';

const T0 = Date.UTC(2026, 11, 1);
const H = 3_600_000;
const doc = (hour: number, platform: Record<string, number>, extra: Record<string, Record<string, number>> = {}) => ({ bucket: new Date(T0 + hour * H), by: { platform, ...extra } });

describe('breakdownSeries', () => {
  it('sums a bucket\'s document and its unfolded changes per value, in bucket order', () => {
    const series = breakdownSeries([doc(0, { ios: 2, web: 1 }), doc(1, { web: 4 }), doc(0, { ios: 1 })], 'platform', [T0, T0 + H, T0 + 2 * H], 10);
    expect(series).toEqual([
      { value: 'web', total: 5, counts: [1, 4, 0] },
      { value: 'ios', total: 3, counts: [3, 0, 0] },
    ]);
  });

  it('keeps the top values and sums the rest as (other), so every bucket still adds up', () => {
    const docs = [doc(0, { a: 5, b: 4, c: 3, d: 2, e: 1 }), doc(1, { a: 1, e: 6 })];
    const series = breakdownSeries(docs, 'platform', [T0, T0 + H], 2);
    expect(series.map((s) => [s.value, s.total, s.counts])).toEqual([
      ['e', 7, [1, 6]],
      ['a', 6, [5, 1]],
      [OTHER_VALUE, 9, [9, 0]],
    ]);
    for (const [i, bucketTotal] of [[0, 15], [1, 7]] as const) expect(series.reduce((sum, s) => sum + s.counts[i]!, 0)).toBe(bucketTotal);
  });

  it('shows the events ingest counted as (other) in the one (other) row, last, whether or not the limit cut any', () => {
    const docs = [doc(0, { a: 5, [OTHER_VALUE]: 20, b: 1 }), doc(1, { c: 2 })];
    expect(breakdownSeries(docs, 'platform', [T0, T0 + H], 10).map((s) => [s.value, s.total])).toEqual([['a', 5], ['c', 2], ['b', 1], [OTHER_VALUE, 20]]);
    expect(breakdownSeries(docs, 'platform', [T0, T0 + H], 1).map((s) => [s.value, s.total, s.counts])).toEqual([['a', 5, [5, 0]], [OTHER_VALUE, 23, [21, 2]]]);
  });

  it('orders equal totals by value, and leaves out values that sum to nothing', () => {
    expect(breakdownSeries([doc(0, { b: 1, a: 1, z: 0 })], 'platform', [T0], 10).map((s) => s.value)).toEqual(['a', 'b']);
  });

  it('gives stored values back as they were sent', () => {
    const stored = { [escapeKey('$money')]: 1, [escapeKey('v1.2')]: 2, [escapeKey('__proto__')]: 3 };
    expect(breakdownSeries([doc(0, stored)], 'platform', [T0], 10).map((s) => s.value).sort()).toEqual(['$money', '__proto__', 'v1.2'].sort());
  });

  it('reads only the dimension asked for, and ignores buckets outside the range', () => {
    const series = breakdownSeries([doc(0, { ios: 1 }, { country: { de: 9 } }), doc(5, { ios: 7 })], 'country', [T0], 10);
    expect(series).toEqual([{ value: 'de', total: 9, counts: [9] }]);
    expect(breakdownSeries([{ bucket: new Date(T0), by: {} }], 'platform', [T0], 10)).toEqual([]);
  });
});
