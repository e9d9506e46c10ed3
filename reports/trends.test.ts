import { describe, expect, it } from 'vitest';
import { passes } from './row-filters.js';
import { quantile, runTrends } from './trends.js';

import type { StampedEvent } from '../model/event-stream.js';
import { event, reportOver } from '../test/report-fixture.js';

/** Runs a trends definition over events. */
function trends(input: object, events: StampedEvent[], now: number) {
  const { definition, data, range, starts } = reportOver(input, events, now);
  if (definition.kind !== 'trends') throw new Error('not a trends definition');
  return runTrends(definition, data, range, starts);
}

describe('filters', () => {
  it('compare scalars by their text, treat missing and null alike, and read numbers from numeric strings', () => {
    expect(passes({ property: 'a', op: 'eq', value: 5 }, '5')).toBe(true);
    expect(passes({ property: 'a', op: 'eq', value: true }, 'true')).toBe(true);
    expect(passes({ property: 'a', op: 'neq', value: 'x' }, undefined)).toBe(true);
    expect(passes({ property: 'a', op: 'eq', value: null }, null)).toBe(true);
    expect(passes({ property: 'a', op: 'is_set' }, null)).toBe(false);
    expect(passes({ property: 'a', op: 'gt', value: 10 }, '12.5')).toBe(true);
    expect(passes({ property: 'a', op: 'gt', value: 10 }, 'twelve')).toBe(false);
    expect(passes({ property: 'a', op: 'contains', value: 'PRO' }, 'a pro plan')).toBe(true);
    expect(passes({ property: 'a', op: 'not_contains', value: 'pro' }, undefined)).toBe(true);
    expect(passes({ property: 'a', op: 'in', value: ['a', 2] }, 2)).toBe(true);
    expect(passes({ property: 'a', op: 'not_in', value: ['a', 2] }, 'b')).toBe(true);
  });
});

describe('quantile', () => {
  it('interpolates between the closest ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.99)).toBe(10);
    expect(quantile([0, 10], 0.9)).toBe(9);
  });
});

describe('trends', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');

  it('counts a person once per day across their anonymous and identified events, before and after the link', () => {
    const result = trends(
      { kind: 'trends', from: '2026-03-08', to: '2026-03-09', interval: 'day', series: [{ event: 'view', math: 'users' }, { event: 'view' }] },
      [
        event('view', '2026-03-08T01:00:00Z', { anonymousId: 'a1' }),
        event('view', '2026-03-08T02:00:00Z', { userId: 'u1', anonymousId: 'a1' }),
        event('view', '2026-03-09T01:00:00Z', { userId: 'u1' }),
        event('view', '2026-03-09T03:00:00Z', { anonymousId: 'a2' }),
      ],
      now,
    );
    expect(result.results.map((r) => [r.values, r.total])).toEqual([
      [[1, 2], 2],
      [[2, 2], 4],
    ]);
  });

  it('counts wau over the 7 local days ending with each day, reading before the range', () => {
    const result = trends(
      { kind: 'trends', from: '2026-03-09', to: '2026-03-10', interval: 'day', series: [{ event: 'x', math: 'wau' }] },
      [event('x', '2026-03-02T10:00:00Z', { userId: 'old' }), event('x', '2026-03-03T10:00:00Z', { userId: 'u' }), event('x', '2026-03-10T10:00:00Z', { userId: 'v' })],
      now,
    );
    // 03-09 covers 03-03..03-09 (u); 03-10 covers 03-04..03-10 (v).
    expect(result.results[0]!.values).toEqual([1, 1]);
  });

  it('keeps the top values of a breakdown, folds the rest into (other), and names a missing or empty value (none)', () => {
    const events = [
      ...['pro', 'pro', 'pro', 'free', 'free', 'team', '', undefined].map((plan, i) => event('buy', `2026-03-09T0${i}:00:00Z`, { userId: `u${i}` }, plan === undefined ? {} : { plan })),
    ];
    const result = trends({ kind: 'trends', from: '2026-03-09', to: '2026-03-09', interval: 'day', series: [{ event: 'buy' }], breakdown: { property: 'plan', limit: 2 } }, events, now);
    expect(result.results.map((r) => [r.breakdown, r.total])).toEqual([
      ['pro', 3],
      ['(none)', 2],
      ['(other)', 3],
    ]);
  });

  it('gives null where a formula divides by zero', () => {
    const result = trends(
      { kind: 'trends', from: '2026-03-08', to: '2026-03-09', interval: 'day', series: [{ event: 'a' }, { event: 'b' }], formula: 'A / B' },
      [event('a', '2026-03-08T01:00:00Z', { userId: 'u' }), event('a', '2026-03-09T01:00:00Z', { userId: 'u' }), event('b', '2026-03-09T02:00:00Z', { userId: 'u' }), event('b', '2026-03-09T03:00:00Z', { userId: 'u' })],
      now,
    );
    expect(result.results).toEqual([{ series: 'formula', label: 'A / B', period: 'current', values: [null, 0.5], total: 1 }]);
  });
});
