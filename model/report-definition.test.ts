import { describe, expect, it } from 'vitest';
import { reportDefinition, reportIntervals, resolveReportRange, type ReportLimits } from './report-definition.js';

const limits: ReportLimits = { maxRangeDays: 366, maxIntervals: 2000 };
const schema = reportDefinition(limits);
const trend = { kind: 'trends', from: '2026-11-01', to: '2026-11-30', series: [{ event: 'buy' }], interval: 'day' };

/** The messages zod gives, as "path: message". */
function problems(input: unknown): string[] {
  const result = schema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('report definitions', () => {
  it('fill in the defaults of each kind', () => {
    expect(schema.parse(trend)).toEqual({ ...trend, timezone: 'UTC', series: [{ event: 'buy', math: 'total' }], compare: false });
    expect(schema.parse({ kind: 'funnel', last: '30d', steps: [{ event: 'a' }, { event: 'b' }] })).toMatchObject({ window: { value: 14, unit: 'day' }, order: 'ordered', exclusions: [], timezone: 'UTC' });
    expect(schema.parse({ kind: 'retention', last: '8w', period: 'week' })).toMatchObject({ type: 'recurring' });
    expect(schema.parse({ ...trend, breakdown: { property: 'context.country' } })).toMatchObject({ breakdown: { property: 'context.country', limit: 25 } });
  });

  it.each([
    ['an unknown kind', { ...trend, kind: 'pie' }, /^kind: must be one of trends, funnel, retention, lifecycle, stickiness, got "pie"/],
    ['no kind', { from: '2026-11-01' }, /^kind: must be one of/],
    ['an unknown field', { ...trend, colour: 'red' }, /Unrecognized key: "colour"/],
    ['an unknown field in a series', { ...trend, series: [{ event: 'buy', maths: 'users' }] }, /^series.0: Unrecognized key: "maths"/],
    ['an unknown operator', { ...trend, series: [{ event: 'buy', filters: [{ property: 'plan', op: 'like', value: 'p%' }] }] }, /^series.0.filters.0.op: /],
    ['11 funnel steps', { kind: 'funnel', last: '7d', steps: Array.from({ length: 11 }, (_, i) => ({ event: `s${i}` })) }, /^steps: must hold 2 to 10 steps/],
    ['one funnel step', { kind: 'funnel', last: '7d', steps: [{ event: 'a' }] }, /^steps: must hold 2 to 10 steps/],
    ['a formula naming a missing series', { ...trend, formula: 'A / B' }, /^formula: names series B, which the report does not have \(it has A\)/],
    ['a formula trying code', { ...trend, formula: 'require("fs")' }, /^formula: unexpected "r" at position 0/],
    ['a property starting with $', { ...trend, breakdown: { property: '$where' } }, /^breakdown.property: must not start with "\$"/],
    ['__proto__ as a property', { ...trend, series: [{ event: 'buy', filters: [{ property: '__proto__', op: 'is_set' }] }] }, /must not be "__proto__"/],
    ['context. with no key', { ...trend, breakdown: { property: 'context.' } }, /names no key after "context."/],
    ['a reversed range', { ...trend, from: '2026-11-30', to: '2026-11-01' }, /^to: 2026-11-01 is before 2026-11-30/],
    ['a 10-year range', { ...trend, from: '2016-01-01', to: '2026-01-01' }, /^to: the range spans more than 366 days/],
    ['"last" past the bound', { ...trend, from: undefined, to: undefined, last: '60w' }, /^last: spans more than 366 days/],
    ['"last" in no unit', { ...trend, from: undefined, to: undefined, last: '7 days' }, /^last: must be a count and a unit m, h, d or w/],
    ['both "last" and a range', { ...trend, last: '7d' }, /^last: give either "last" or "from" and "to", not both/],
    ['no range', { ...trend, from: undefined, to: undefined }, /^from: is required \(or give "last"\)/],
    ['an instant without its zone', { ...trend, from: '2026-11-01T00:00:00' }, /^from: must be a day \(YYYY-MM-DD\) or an ISO instant with its zone/],
    ['an impossible day', { ...trend, to: '2026-02-30' }, /^to: must be a day/],
    ['a time zone that does not exist', { ...trend, timezone: 'Mars/Olympus_Mons' }, /^timezone: "Mars\/Olympus_Mons" is not an IANA time zone/],
    ['sum without a property', { ...trend, series: [{ event: 'buy', math: 'sum' }] }, /^series.0.property: is required for math sum/],
    ['a property with users', { ...trend, series: [{ event: 'buy', math: 'users', property: 'price' }] }, /^series.0.property: is only for sum/],
    ['gt with a string', { ...trend, series: [{ event: 'buy', filters: [{ property: 'price', op: 'gt', value: '10' }] }] }, /^series.0.filters.0.value: gt needs a number/],
    ['in with no list', { ...trend, series: [{ event: 'buy', filters: [{ property: 'plan', op: 'in', value: 'pro' }] }] }, /in needs a list of 1 to 100/],
    ['is_set with a value', { ...trend, series: [{ event: 'buy', filters: [{ property: 'plan', op: 'is_set', value: 1 }] }] }, /is_set needs no value/],
    ['an exclusion outside the steps', { kind: 'funnel', last: '7d', steps: [{ event: 'a' }, { event: 'b' }], exclusions: [{ event: 'x', fromStep: 0, toStep: 2 }] }, /^exclusions.0: fromStep must be before toStep/],
    ['step attribution without a step', { kind: 'funnel', last: '7d', steps: [{ event: 'a' }, { event: 'b' }], breakdown: { property: 'plan', attribution: 'step' } }, /^breakdown.step: is required with attribution "step"/],
    ['a breakdown limit of a million', { ...trend, breakdown: { property: 'plan', limit: 1_000_000 } }, /^breakdown.limit: /],
    ['an 11th series', { ...trend, series: Array.from({ length: 11 }, () => ({ event: 'x' })) }, /^series: must hold at most 10 series/],
    ['a definition that is not an object', 'trends', /^kind: must be one of/],
  ])('refuses %s, naming the field', (_case, input, message) => {
    const found = problems(input);
    expect(found.length, JSON.stringify(found)).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(message);
  });

  it('resolve a range of days from local midnight to the end of the last day, in the report\'s zone', () => {
    const now = Date.parse('2026-12-07T15:00:00Z');
    const berlin = schema.parse({ ...trend, timezone: 'Europe/Berlin' });
    expect(resolveReportRange(berlin, now)).toEqual({ from: Date.parse('2026-10-31T23:00:00Z'), to: Date.parse('2026-11-30T23:00:00Z'), timezone: 'Europe/Berlin' });
    const instants = schema.parse({ ...trend, from: '2026-11-01T10:00:00Z', to: '2026-11-01T10:59:59.999Z' });
    expect(resolveReportRange(instants, now)).toMatchObject({ from: Date.parse('2026-11-01T10:00:00Z'), to: Date.parse('2026-11-01T11:00:00Z') });
  });

  it('resolve "last" when the report runs: whole local days for d and w, the time ending now for m and h', () => {
    const now = Date.parse('2026-12-07T15:00:00Z');
    const last = (text: string, timezone = 'UTC') => resolveReportRange(schema.parse({ ...trend, from: undefined, to: undefined, last: text, timezone }), now);
    expect(last('7d')).toEqual({ from: Date.parse('2026-12-01T00:00:00Z'), to: now + 1, timezone: 'UTC' });
    expect(last('1w', 'America/New_York').from).toBe(Date.parse('2026-12-01T05:00:00Z'));
    expect(last('30m')).toMatchObject({ from: now - 30 * 60_000, to: now + 1 });
    expect(last('24h').from).toBe(now - 24 * 3_600_000);
    // Run a day later, the same saved report covers the next 7 days.
    expect(resolveReportRange(schema.parse({ ...trend, from: undefined, to: undefined, last: '7d' }), now + 86_400_000).from).toBe(Date.parse('2026-12-02T00:00:00Z'));
  });

  it('bound the intervals a query may ask for, naming the bound', () => {
    const range = { from: Date.parse('2026-11-01T00:00:00Z'), to: Date.parse('2026-12-01T00:00:00Z'), timezone: 'UTC' };
    expect(reportIntervals(range, 'day', limits)).toHaveLength(30);
    expect(reportIntervals(range, 'minute', limits)).toBe('interval: minute intervals over this range would be more than 2000 points; choose a longer interval or a shorter range');
  });
});
