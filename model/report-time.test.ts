import { describe, expect, it } from 'vitest';
import { intervalStart, intervalStarts, isTimeZone, localDate, localMidnight, nextIntervalStart } from './report-time.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('report time in a time zone', () => {
  it.each([
    ['UTC', 'day', '2026-12-07T13:45:10Z', '2026-12-07T00:00:00.000Z'],
    ['UTC', 'hour', '2026-12-07T13:45:10.5Z', '2026-12-07T13:00:00.000Z'],
    ['UTC', 'minute', '2026-12-07T13:45:10.5Z', '2026-12-07T13:45:00.000Z'],
    ['Europe/Berlin', 'day', '2026-12-07T13:00:00Z', '2026-12-06T23:00:00.000Z'],
    ['Europe/Berlin', 'day', '2026-12-06T23:30:00Z', '2026-12-06T23:00:00.000Z'],
    ['Europe/Berlin', 'week', '2026-12-13T20:00:00Z', '2026-12-06T23:00:00.000Z'],
    ['Europe/Berlin', 'week', '2026-12-13T23:30:00Z', '2026-12-13T23:00:00.000Z'],
    ['Europe/Berlin', 'month', '2026-12-31T23:30:00Z', '2026-12-31T23:00:00.000Z'],
    ['Asia/Kolkata', 'hour', '2026-12-07T13:10:00Z', '2026-12-07T12:30:00.000Z'],
    ['America/New_York', 'day', '2026-03-08T12:00:00Z', '2026-03-08T05:00:00.000Z'],
    ['America/New_York', 'day', '2026-03-09T12:00:00Z', '2026-03-09T04:00:00.000Z'],
  ])('%s: the %s holding %s starts at %s', (zone, interval, instant, start) => {
    expect(iso(intervalStart(at(instant), interval as never, zone))).toBe(start);
  });

  it('counts a day of a DST change as 23 or 25 hours, and steps months by the calendar', () => {
    const days = intervalStarts(at('2026-03-28T12:00:00Z'), at('2026-03-31T00:00:00Z'), 'day', 'Europe/Berlin', 100)!;
    expect(days.map(iso)).toEqual(['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z']);
    const autumn = intervalStarts(at('2026-10-25T00:00:00Z'), at('2026-10-26T12:00:00Z'), 'day', 'Europe/Berlin', 100)!;
    expect(autumn[1]! - autumn[0]!).toBe(25 * 3_600_000);
    expect(iso(nextIntervalStart(at('2026-01-31T00:00:00Z'), 'month', 'UTC'))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(nextIntervalStart(at('2026-12-01T00:00:00Z'), 'month', 'UTC'))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('starts a day whose midnight a DST change skips at the end of the gap', () => {
    // Chile moves its clocks from 24:00 to 01:00 on the first Sunday of September.
    const start = localMidnight(2026, 9, 6, 'America/Santiago');
    const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/Santiago', hourCycle: 'h23', hour: 'numeric' }).format(start));
    expect({ hour, date: localDate(start, 'America/Santiago') }).toEqual({ hour: 1, date: { year: 2026, month: 9, day: 6 } });
    expect(localDate(start - 1, 'America/Santiago')).toEqual({ year: 2026, month: 9, day: 5 });
  });

  it('refuses to make more intervals than the bound, and knows zones from names', () => {
    expect(intervalStarts(at('2026-12-01T00:00:00Z'), at('2026-12-03T00:00:00Z'), 'minute', 'UTC', 2000)).toBeUndefined();
    expect(intervalStarts(at('2026-12-01T00:00:00Z'), at('2026-12-02T00:00:00Z'), 'minute', 'UTC', 2000)).toHaveLength(1440);
    expect([isTimeZone('Europe/Berlin'), isTimeZone('UTC'), isTimeZone('Mars/Olympus_Mons'), isTimeZone('')]).toEqual([true, true, false, false]);
  });
});
