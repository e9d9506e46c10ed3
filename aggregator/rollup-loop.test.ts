import { describe, expect, it } from 'vitest';
import { takeEntries, type Entry } from './rollup-loop.js';

const entry = (id: string, events: number, json = '[]'): Entry => [id, ['v', '1', 'n', String(events), 'd', json]];

describe('takeEntries: what one batch of a partition takes', () => {
  const entries = [entry('1-0', 300), entry('2-0', 500), entry('3-0', 400), entry('4-0', 100)];

  it('takes whole entries up to the event bound', () => {
    expect(takeEntries(entries, 1000)).toEqual({ entries: entries.slice(0, 2), events: 800 });
    expect(takeEntries(entries, 1200)).toEqual({ entries: entries.slice(0, 3), events: 1200 });
    expect(takeEntries(entries, 10_000)).toEqual({ entries, events: 1300 });
  });

  it('takes at least one entry, however many events it holds', () => {
    expect(takeEntries([entry('1-0', 2000), entry('2-0', 1)], 500)).toEqual({ entries: [entry('1-0', 2000)], events: 2000 });
  });

  it('takes whole entries up to the JSON bound, and at least one however large (a burst of large events cannot make one batch hold them all)', () => {
    const large = [entry('1-0', 2, 'x'.repeat(600)), entry('2-0', 2, 'x'.repeat(500)), entry('3-0', 1, 'x'.repeat(100))];
    expect(takeEntries(large, 1000, 1000)).toEqual({ entries: large.slice(0, 1), events: 2 });
    expect(takeEntries(large, 1000, 1100)).toEqual({ entries: large.slice(0, 2), events: 4 });
    expect(takeEntries(large, 1000, 100)).toEqual({ entries: large.slice(0, 1), events: 2 });
    expect(takeEntries(large, 3, 10_000)).toEqual({ entries: large.slice(0, 1), events: 2 });
  });
});
