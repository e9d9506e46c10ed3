import { describe, expect, it } from 'vitest';
import { seeded } from '../test/dataset.js';
import { event, reportOver } from '../test/report-fixture.js';
import { planReport } from './run-report.js';

const now = Date.parse('2026-03-10T12:00:00Z');
const limits = { maxRangeDays: 366, maxIntervals: 2000 };
const at = (day: number, hour = 10) => `2026-03-0${day}T${String(hour).padStart(2, '0')}:00:00Z`;

// A: open d1, buy d2, buy d4. B: open d1 and d2, buy d3. C: open d0 (before the range) and d3. D: open d3 and d4 (new on d3).
const events = [
  event('open', at(1), { userId: 'A' }),
  event('buy', at(2), { userId: 'A' }),
  event('buy', at(4), { userId: 'A' }),
  event('open', at(1), { userId: 'B' }),
  event('open', at(2), { userId: 'B' }),
  event('buy', at(3), { userId: 'B' }),
  event('open', '2026-02-28T10:00:00Z', { userId: 'C' }),
  event('open', at(3), { userId: 'C' }),
  event('open', at(3, 11), { anonymousId: 'd-anon' }),
  event('open', at(4), { userId: 'D', anonymousId: 'd-anon' }),
];

function run(input: object) {
  const { definition, data, range } = reportOver(input, events, now);
  return planReport(definition, range, now, limits, 365).compute(data);
}

describe('retention', () => {
  it('recurring: a person in the cohort of every period with a start event, retained by a return event k periods later', () => {
    const result = run({ kind: 'retention', from: '2026-03-01', to: '2026-03-04', period: 'day', startEvent: { event: 'open' }, returnEvent: { event: 'buy' } });
    expect(result).toEqual({
      cohorts: [
        { cohort: '2026-03-01T00:00:00.000Z', size: 2, retained: [2, 1, 1, 1] },
        { cohort: '2026-03-02T00:00:00.000Z', size: 1, retained: [1, 1, 0] },
        { cohort: '2026-03-03T00:00:00.000Z', size: 2, retained: [2, 0] },
        { cohort: '2026-03-04T00:00:00.000Z', size: 1, retained: [1] },
      ],
    });
  });

  it('first_time: only the cohort of the first start event ever, none when it is before the range', () => {
    const result = run({ kind: 'retention', from: '2026-03-01', to: '2026-03-04', period: 'day', type: 'first_time', startEvent: { event: 'open' }, returnEvent: { event: 'buy' } });
    expect(result).toMatchObject({ cohorts: [{ size: 2, retained: [2, 1, 1, 1] }, { size: 0 }, { size: 1, retained: [1, 0] }, { size: 0 }] });
  });
});

describe('lifecycle', () => {
  it('new on the first event ever, returning, resurrecting, and dormant as negatives the interval after the last active one', () => {
    const result = run({ kind: 'lifecycle', from: '2026-03-02', to: '2026-03-04', interval: 'day', event: 'open' });
    expect(result).toEqual({
      intervals: ['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z', '2026-03-04T00:00:00.000Z'],
      new: [0, 1, 0],
      returning: [1, 0, 1],
      resurrecting: [0, 1, 0],
      dormant: [-1, -1, -1],
    });
  });
});

describe('over more periods than a 32-bit word holds', () => {
  const DAY = 86_400_000;
  const HOUR = 3_600_000;
  const rand = seeded(5);
  const base = Date.parse('2026-01-01T00:00:00Z');
  // 30 persons, events on random hours of 70 days, and more of them on the 4 days from 2026-02-09.
  const many = Array.from({ length: 1200 }, (_, i) => {
    const t = i % 2 === 0 ? base + Math.floor(rand() * 70 * 24) * HOUR + 60_000 : base + 39 * DAY + Math.floor(rand() * 4 * 24) * HOUR + 60_000;
    return event(rand() < 0.5 ? 'open' : 'buy', new Date(t).toISOString(), { userId: `p${Math.floor(rand() * 30)}` });
  });
  const runMany = (input: object) => {
    const { definition, data, range } = reportOver(input, many, now);
    return planReport(definition, range, now, limits, 365).compute(data);
  };
  const persons = [...new Set(many.map((e) => e.userId!))];
  const did = (p: string, name: string | undefined, from: number, to: number) => many.some((e) => e.userId === p && (name === undefined || e.event === name) && e.timestamp >= from && e.timestamp < to);

  it('recurring daily retention over 70 days equals a recount', () => {
    const result = runMany({ kind: 'retention', from: '2026-01-01', to: '2026-03-11', period: 'day', startEvent: { event: 'open' }, returnEvent: { event: 'buy' } }) as { cohorts: Array<{ size: number; retained: number[] }> };
    expect(result.cohorts).toHaveLength(70);
    result.cohorts.forEach((cohort, c) => {
      const members = persons.filter((p) => did(p, 'open', base + c * DAY, base + (c + 1) * DAY));
      expect(cohort.size).toBe(members.length);
      expect(cohort.retained).toEqual(Array.from({ length: 70 - c }, (_, j) => (j === 0 ? members.length : members.filter((p) => did(p, 'buy', base + (c + j) * DAY, base + (c + j + 1) * DAY)).length)));
    });
  });

  it('hourly lifecycle over 3 days equals a recount', () => {
    const from = base + 40 * DAY;
    const result = runMany({ kind: 'lifecycle', from: '2026-02-10', to: '2026-02-12', interval: 'hour', event: 'open' }) as { new: number[]; returning: number[]; resurrecting: number[]; dormant: number[] };
    const active = (p: string, k: number) => did(p, 'open', from + k * HOUR, from + (k + 1) * HOUR);
    const born = (p: string) => Math.min(...many.filter((e) => e.userId === p).map((e) => e.timestamp));
    const expected = { new: [] as number[], returning: [] as number[], resurrecting: [] as number[], dormant: [] as number[] };
    for (let k = 0; k < 72; k++) {
      const now = persons.filter((p) => active(p, k));
      const isNew = (p: string) => born(p) >= from + k * HOUR && born(p) < from + (k + 1) * HOUR;
      expected.new.push(now.filter(isNew).length);
      expected.returning.push(now.filter((p) => !isNew(p) && active(p, k - 1)).length);
      expected.resurrecting.push(now.filter((p) => !isNew(p) && !active(p, k - 1)).length);
      expected.dormant.push(0 - persons.filter((p) => active(p, k - 1) && !active(p, k)).length);
    }
    expect(result).toMatchObject(expected);
    expect(expected.returning.some((n) => n > 0) && expected.dormant.some((n) => n < 0)).toBe(true);
  });
});
