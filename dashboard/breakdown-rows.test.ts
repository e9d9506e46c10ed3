import { describe, expect, it } from 'vitest';
import { breakdownWait, breakdownRows } from './breakdown-rows.js';

describe('breakdown rows', () => {
  it('gives each value its share of all the events, rounded, with <1% for a sliver', () => {
    expect(breakdownRows([{ value: 'web', total: 620 }, { value: 'ios', total: 377 }, { value: 'android', total: 3 }]).map((r) => [r.value, r.share, r.shareText])).toEqual([
      ['web', 0.62, '62%'],
      ['ios', 0.377, '38%'],
      ['android', 0.003, '<1%'],
    ]);
  });

  it('shows 0% rather than dividing by nothing', () => {
    expect(breakdownRows([{ value: 'web', total: 0 }])).toEqual([{ value: 'web', total: 0, share: 0, shareText: '0%' }]);
  });
});

describe('when to read the breakdown again', () => {
  it.each([
    ['never read', null, 'k', 0, 0],
    ['another query (event, granularity, bucket or dimension)', { key: 'a', at: 0 }, 'b', 1, 0],
    ['new counts, read 4.9 s ago: the rest of the 5 s', { key: 'k', at: 0 }, 'k', 4900, 100],
    ['new counts, read 5 s ago', { key: 'k', at: 0 }, 'k', 5000, 0],
    ['new counts, read a minute ago', { key: 'k', at: 0 }, 'k', 60_000, 0],
  ] as const)('%s → wait %s ms', (_, last, key, now, wait) => {
    expect(breakdownWait(last, key, now)).toBe(wait);
  });
});
