import { describe, expect, it } from 'vitest';
import { event, reportOver } from '../test/report-fixture.js';
import { runStickiness } from './stickiness.js';

describe('stickiness', () => {
  it('counts each person once, by the number of intervals they did the event in, identities merged', () => {
    const { definition, data, range, starts } = reportOver(
      { kind: 'stickiness', from: '2026-03-02', to: '2026-03-05', interval: 'day', event: 'open' },
      [
        // u: 3 days (twice on one), its anonymous id linked: 3 in all.
        event('open', '2026-03-02T01:00:00Z', { anonymousId: 'a' }),
        event('open', '2026-03-02T05:00:00Z', { userId: 'u', anonymousId: 'a' }),
        event('open', '2026-03-03T01:00:00Z', { userId: 'u' }),
        event('open', '2026-03-05T23:59:59Z', { userId: 'u' }),
        // v: one day; w: another event only; x: outside the range.
        event('open', '2026-03-04T00:00:00Z', { userId: 'v' }),
        event('close', '2026-03-04T00:00:00Z', { userId: 'w' }),
        event('open', '2026-03-06T00:00:00Z', { userId: 'x' }),
      ],
      Date.parse('2026-03-10T00:00:00Z'),
    );
    if (definition.kind !== 'stickiness') throw new Error('not a stickiness definition');
    expect(runStickiness(definition, data, range, starts).counts).toEqual([1, 0, 1, 0]);
  });
});
