import { describe, expect, it } from 'vitest';
import { parseDay } from '../model/time-buckets.js';
import { activityKey, countKey, deltaChanges, dimensionKey, retentionKey, staleCell, windowStart, type LiveNeeds } from './cells.js';
import type { DeltaEntry } from './feed.js';

const NOW = Date.parse('2026-11-23T10:30:20Z');
const MINUTE = 60_000;
const T = Date.parse('2026-11-23T10:30:00Z');
const DAY = parseDay('2026-11-23')!;

const ALL: LiveNeeds = { minutes: 60, dimensions: true, activity: true, retentionDays: 7 };

function delta(over: Partial<DeltaEntry> = {}): DeltaEntry {
  return {
    type: 'delta', seq: 1, projectId: 'p', partition: 3, batch: 9, receivedAt: NOW,
    counts: [{ event: 'signup', bucket: '2026-11-23T10:30:00.000Z', increment: 4, by: { 'platform.web': 3, 'platform.ios': 1 } }],
    activeUsers: [{ date: '2026-11-23', dau: 2, wau: 2, mau: 1 }],
    retention: [{ cohort: '2026-11-20', offset: 3, increment: 1 }, { cohort: '2026-11-20', offset: 2, increment: 2 }],
    ...over,
  };
}

describe('deltaChanges', () => {
  it.each<[string, LiveNeeds, DeltaEntry, unknown[]]>([
    ['everything a consumer keeps', ALL, delta(), [
      { doc: countKey('signup', T), cells: [[countKey('signup', T), 4], [dimensionKey('signup', T, 'platform', 'web'), 3], [dimensionKey('signup', T, 'platform', 'ios'), 1]] },
      { doc: JSON.stringify(['a', DAY]), cells: [[activityKey(DAY, 'dau'), 2], [activityKey(DAY, 'wau'), 2], [activityKey(DAY, 'mau'), 1]] },
      { doc: JSON.stringify(['r', DAY - 3]), cells: [[retentionKey(DAY - 3, 3), 1], [retentionKey(DAY - 3, 2), 2]] },
    ]],
    ['no dimensions: the count alone', { ...ALL, dimensions: false, activity: false, retentionDays: 0 }, delta(), [
      { doc: countKey('signup', T), cells: [[countKey('signup', T), 4]] },
    ]],
    ['an event outside the filter: nothing of it', { ...ALL, events: new Set(['purchase']), activity: false, retentionDays: 0 }, delta(), []],
    ['no minutes kept: no counts', { ...ALL, minutes: 0, activity: false, retentionDays: 0 }, delta(), []],
    ['a count without breakdowns keeps its count', ALL, delta({ counts: [{ event: 'e', bucket: '2026-11-23T10:29:00.000Z', increment: 1 }], activeUsers: [], retention: [] }), [
      { doc: countKey('e', T - MINUTE), cells: [[countKey('e', T - MINUTE), 1]] },
    ]],
  ])('%s', (_, needs, entry, expected) => {
    expect(deltaChanges(entry, needs)).toEqual(expected);
  });
});

describe('staleCell', () => {
  const needs: LiveNeeds = { minutes: 3, dimensions: false, activity: true, retentionDays: 7 };
  const stale = staleCell(needs, NOW);
  it('keeps the window the consumer watches', () => {
    expect(windowStart(needs, NOW)).toBe(T - 2 * MINUTE);
  });
  it.each([
    [countKey('e', T), false],
    [countKey('e', T - 2 * MINUTE), false],
    [countKey('e', T - 3 * MINUTE), true],
    [dimensionKey('e', T - 3 * MINUTE, 'platform', 'web'), true],
    [activityKey(DAY - 1, 'dau'), false],
    [activityKey(DAY - 2, 'mau'), true],
    [retentionKey(DAY - 6, 6), false],
    [retentionKey(DAY - 7, 1), true],
  ])('%s stale: %s', (key, expected) => {
    expect(stale(key)).toBe(expected);
  });
});
