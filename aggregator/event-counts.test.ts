import { describe, expect, it } from 'vitest';
import { addEventCounts, emptyCountChanges, type CountedEvent, type PlanSettings } from './batch-plan.js';

const SETTINGS: PlanSettings = { dimensions: ['platform', 'plan'], horizonDays: 30, expiryDays: { raw: 365, users: 365, minute: 2, hour: 30, day: 365 } };
const T = Date.parse('2026-11-23T10:30:15Z');
const DAY_MS = 86_400_000;

function event(over: Partial<CountedEvent> = {}): CountedEvent {
  return { projectId: 'p', event: 'signup', timestamp: T, context: {}, ...over };
}

/** The breakdown of the event's minute document after counting it. */
function breakdownOf(e: CountedEvent): Record<string, number> {
  const counts = emptyCountChanges();
  addEventCounts(counts, e, SETTINGS, T);
  return Object.fromEntries([...counts.minute.values()][0]!.by);
}

describe('addEventCounts: dimension values', () => {
  it.each<[string, Partial<CountedEvent>, Record<string, number>]>([
    ['from the context', { context: { platform: 'web' }, properties: { plan: 'pro' } }, { 'platform.web': 1, 'plan.pro': 1 }],
    ['the context before a property of the same name', { context: { platform: 'ios' }, properties: { platform: 'web' } }, { 'platform.ios': 1, 'plan.(none)': 1 }],
    ['a missing or null value as (none)', { context: { platform: null } as CountedEvent['context'] }, { 'platform.(none)': 1, 'plan.(none)': 1 }],
    ['an object as (object)', { properties: { plan: { tier: 2 } } }, { 'platform.(none)': 1, 'plan.(object)': 1 }],
    ['an empty string as (empty)', { properties: { plan: '' } }, { 'platform.(none)': 1, 'plan.(empty)': 1 }],
    ['numbers and booleans as text', { properties: { plan: 3, platform: true } }, { 'platform.true': 1, 'plan.3': 1 }],
    ['a value with $ and dots escaped', { properties: { plan: '$pro.max' } }, { 'platform.(none)': 1, 'plan.\uFF04pro\uFF0Emax': 1 }],
    ['a long value cut to 100 characters', { properties: { plan: 'x'.repeat(150) } }, { 'platform.(none)': 1, [`plan.${'x'.repeat(100)}`]: 1 }],
  ])('%s', (_, over, expected) => {
    expect(breakdownOf(event(over))).toEqual(expected);
  });
});

describe('addEventCounts: buckets and expiry', () => {
  it('counts an event into its minute, hour and day, and events of one bucket into one document', () => {
    const counts = emptyCountChanges();
    addEventCounts(counts, event(), SETTINGS, T);
    addEventCounts(counts, event({ timestamp: T + 30_000 }), SETTINGS, T);
    addEventCounts(counts, event({ event: 'other' }), SETTINGS, T);
    expect([...counts.minute.values()].map((c) => [c.id, c.count])).toEqual([
      [`p|${Date.parse('2026-11-23T10:30:00Z')}|signup`, 2],
      [`p|${Date.parse('2026-11-23T10:30:00Z')}|other`, 1],
    ]);
    expect([...counts.hour.values()].map((c) => [c.bucket.toISOString(), c.count])).toEqual([['2026-11-23T10:00:00.000Z', 2], ['2026-11-23T10:00:00.000Z', 1]]);
    expect([...counts.day.values()].map((c) => [c.bucket.toISOString(), c.expireAt.toISOString()])).toEqual([
      ['2026-11-23T00:00:00.000Z', new Date(Date.parse('2026-11-24T00:00:00Z') + 365 * DAY_MS).toISOString()],
      ['2026-11-23T00:00:00.000Z', new Date(Date.parse('2026-11-24T00:00:00Z') + 365 * DAY_MS).toISOString()],
    ]);
  });

  it.each<[string, number, Array<'minute' | 'hour' | 'day'>]>([
    ['an event of now: every granularity', T, ['minute', 'hour', 'day']],
    ['three days old: its minutes have expired (kept 2 days)', T - 3 * DAY_MS, ['hour', 'day']],
    ['40 days old: only its day (hours kept 30 days)', T - 40 * DAY_MS, ['day']],
    ['400 days old: nothing', T - 400 * DAY_MS, []],
  ])('%s', (_, timestamp, expected) => {
    const counts = emptyCountChanges();
    addEventCounts(counts, event({ timestamp }), SETTINGS, T);
    expect((['minute', 'hour', 'day'] as const).filter((g) => counts[g].size > 0)).toEqual(expected);
  });
});
