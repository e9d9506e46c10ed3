import { describe, expect, it } from 'vitest';
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
