import { describe, expect, it } from 'vitest';
import { bucketStart, dayNumber, formatDay, parseDay, weekNumber, weekStartDay } from './time-buckets.js';

describe('time buckets (UTC)', () => {
  const t = Date.parse('2026-11-23T13:47:12.345Z');

  it.each([
    ['minute', '2026-11-23T13:47:00.000Z'],
    ['hour', '2026-11-23T13:00:00.000Z'],
    ['day', '2026-11-23T00:00:00.000Z'],
  ] as const)('%s bucket', (granularity, start) => {
    expect(new Date(bucketStart(t, granularity)).toISOString()).toBe(start);
  });

  it('days round-trip through YYYY-MM-DD', () => {
    expect(formatDay(dayNumber(t))).toBe('2026-11-23');
    expect(parseDay('2026-11-23')).toBe(dayNumber(t));
    expect(dayNumber(Date.parse('2026-11-23T23:59:59.999Z'))).toBe(dayNumber(t));
  });

  it.each(['2026-02-30', '2026-13-01', '26-11-23', '2026-11-23T00:00:00Z', ''])('refuses %j as a day', (text) => {
    expect(parseDay(text)).toBeUndefined();
  });

  it('weeks start on Monday', () => {
    const monday = parseDay('2026-11-23')!; // a Monday
    expect(weekNumber(monday)).toBe(weekNumber(parseDay('2026-11-29')!)); // Sunday, same week
    expect(weekNumber(monday)).toBe(weekNumber(parseDay('2026-11-22')!) + 1);
    expect(formatDay(weekStartDay(weekNumber(parseDay('2026-11-26')!)))).toBe('2026-11-23');
  });
});
