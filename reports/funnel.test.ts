import { describe, expect, it } from 'vitest';
import type { StampedEvent } from '../model/event-stream.js';
import { event, reportOver } from '../test/report-fixture.js';
import { runFunnel } from './funnel.js';

const now = Date.parse('2026-03-31T00:00:00Z');
const range = { from: '2026-03-01', to: '2026-03-20' };

function funnel(input: object, events: StampedEvent[]) {
  const { definition, data, range: resolved } = reportOver({ kind: 'funnel', ...range, ...input }, events, now);
  if (definition.kind !== 'funnel') throw new Error('not a funnel definition');
  return runFunnel(definition, data, resolved);
}
const counts = (r: ReturnType<typeof funnel>) => r.steps.map((s) => s.count);
const u = { userId: 'u' };

describe('funnels', () => {
  const steps = [{ event: 'land' }, { event: 'signup' }, { event: 'pay' }];

  it('takes a step at the window end to the second, not one second later', () => {
    const window = { value: 1, unit: 'hour' };
    expect(counts(funnel({ steps, window }, [event('land', '2026-03-02T10:00:00Z', u), event('signup', '2026-03-02T10:30:00Z', u), event('pay', '2026-03-02T11:00:00Z', u)]))).toEqual([1, 1, 1]);
    expect(counts(funnel({ steps, window }, [event('land', '2026-03-02T10:00:00Z', u), event('signup', '2026-03-02T10:30:00Z', u), event('pay', '2026-03-02T11:00:01Z', u)]))).toEqual([1, 1, 0]);
  });

  it('starts a new attempt at a repeated first step, and times the first attempt that got furthest', () => {
    const result = funnel({ steps, window: { value: 1, unit: 'day' } }, [
      event('land', '2026-03-02T10:00:00Z', u),
      event('signup', '2026-03-02T10:00:10Z', u),
      event('land', '2026-03-05T10:00:00Z', u),
      event('signup', '2026-03-05T10:01:00Z', u),
      event('pay', '2026-03-05T10:03:00Z', u),
    ]);
    expect(counts(result)).toEqual([1, 1, 1]);
    expect(result.steps.map((s) => s.averageSecondsToConvert)).toEqual([null, 60, 120]);
  });

  it('counts equal timestamps as in order, and fills one step with one event', () => {
    expect(counts(funnel({ steps }, [event('signup', '2026-03-02T10:00:00Z', u), event('land', '2026-03-02T10:00:00Z', u)]))).toEqual([1, 1, 0]);
    expect(counts(funnel({ steps: [{ event: 'view' }, { event: 'view' }] }, [event('view', '2026-03-02T10:00:00Z', u)]))).toEqual([1, 0]);
    expect(counts(funnel({ steps: [{ event: 'view' }, { event: 'view' }] }, [event('view', '2026-03-02T10:00:00Z', u), event('view', '2026-03-02T10:00:00Z', u)]))).toEqual([1, 1]);
  });

  it('strict: an unrelated event between two steps ends the attempt; ordered lets it pass', () => {
    const events = [event('land', '2026-03-02T10:00:00Z', u), event('scroll', '2026-03-02T10:00:05Z', u), event('signup', '2026-03-02T10:00:10Z', u)];
    expect(counts(funnel({ steps, order: 'strict' }, events))).toEqual([1, 0, 0]);
    expect(counts(funnel({ steps, order: 'ordered' }, events))).toEqual([1, 1, 0]);
  });

  it('unordered: the steps in any order within the window of the first', () => {
    const events = [event('pay', '2026-03-02T10:00:00Z', u), event('land', '2026-03-02T11:00:00Z', u), event('signup', '2026-03-02T12:00:00Z', u)];
    expect(counts(funnel({ steps, order: 'unordered' }, events))).toEqual([1, 1, 1]);
    expect(counts(funnel({ steps, order: 'ordered' }, events))).toEqual([1, 1, 0]);
  });

  it('an exclusion between the steps voids the attempt; one after the window does not', () => {
    const window = { value: 1, unit: 'hour' };
    const exclusions = [{ event: 'cancel', fromStep: 0, toStep: 1 }];
    const base = [event('land', '2026-03-02T10:00:00Z', u), event('signup', '2026-03-02T10:30:00Z', u)];
    expect(counts(funnel({ steps, window, exclusions }, [...base, event('cancel', '2026-03-02T10:10:00Z', u)]))).toEqual([0, 0, 0]);
    expect(counts(funnel({ steps, window, exclusions }, [...base, event('cancel', '2026-03-02T11:00:01Z', u)]))).toEqual([1, 1, 0]);
    // Not converted: an exclusion inside the window still voids, one outside does not.
    expect(counts(funnel({ steps, window, exclusions }, [base[0]!, event('cancel', '2026-03-02T10:59:00Z', u)]))).toEqual([0, 0, 0]);
    expect(counts(funnel({ steps, window, exclusions }, [base[0]!, event('cancel', '2026-03-02T11:00:01Z', u)]))).toEqual([1, 0, 0]);
  });

  it('breaks down by the first or last non-empty value of the counted attempt, or by one step', () => {
    const events = [
      event('land', '2026-03-02T10:00:00Z', u, { source: '' }),
      event('signup', '2026-03-02T10:01:00Z', u, { source: 'ads' }),
      event('pay', '2026-03-02T10:02:00Z', u, { source: 'mail' }),
      event('land', '2026-03-02T10:00:00Z', { userId: 'v' }),
    ];
    const values = (attribution: string, step?: number) =>
      funnel({ steps, breakdown: { property: 'source', attribution, ...(step === undefined ? {} : { step }) } }, events).breakdowns!.map((b) => [b.value, b.steps.map((s) => s.count)]);
    expect(values('first_touch')).toEqual([
      ['(none)', [1, 0, 0]],
      ['ads', [1, 1, 1]],
    ]);
    expect(values('last_touch')).toEqual([
      ['(none)', [1, 0, 0]],
      ['mail', [1, 1, 1]],
    ]);
    expect(values('step', 0)).toEqual([['(none)', [2, 1, 1]]]);
  });

  it('counts an attempt only when it starts inside the range, and a person once at their furthest step', () => {
    const events = [
      event('land', '2026-02-28T23:59:59Z', u),
      event('signup', '2026-03-01T00:00:10Z', u),
      event('land', '2026-03-19T23:00:00Z', { userId: 'v' }),
      event('signup', '2026-03-21T00:00:00Z', { userId: 'v' }),
      event('pay', '2026-03-21T00:00:01Z', { userId: 'v' }),
    ];
    const result = funnel({ steps }, events);
    expect(counts(result)).toEqual([1, 1, 1]);
    expect(result.steps.map((s) => s.conversionRate)).toEqual([1, 1, 1]);
  });
});
