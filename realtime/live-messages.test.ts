import { describe, expect, it } from 'vitest';
import type { DeltaEntry, FeedEntry } from '../live/feed.js';
import { LiveFigures } from '../live/live-figures.js';
import { activityKey, countKey } from '../live/cells.js';
import { dayNumber } from '../model/time-buckets.js';
import { activeUsersMessage, coalesce, FeedCoalescer, snapshotMessage } from './live-messages.js';

const NOW = Date.parse('2026-11-23T10:30:20Z');
const delta = (seq: number, counts: DeltaEntry['counts'], activeUsers: DeltaEntry['activeUsers'] = []): DeltaEntry => ({
  type: 'delta', seq, projectId: 'p', partition: 0, batch: seq, receivedAt: NOW - 100, counts, activeUsers, retention: [],
});

describe('coalesce', () => {
  it('sums increments per (event, bucket) across entries into one message each, all at the flush seq', () => {
    const entries: FeedEntry[] = [
      delta(7, [{ event: 'a', bucket: '2026-11-23T10:30:00.000Z', increment: 2 }, { event: 'b', bucket: '2026-11-23T10:30:00.000Z', increment: 1 }]),
      delta(8, [{ event: 'a', bucket: '2026-11-23T10:30:00.000Z', increment: 3 }, { event: 'a', bucket: '2026-11-23T10:29:00.000Z', increment: 1 }]),
      { type: 'alert', seq: 9, projectId: 'p', alert: { id: 'r:1:firing', state: 'firing' } },
    ];
    const out = coalesce(entries, 9, NOW);
    expect(out.events.map((e) => JSON.parse(e.message))).toEqual([
      { type: 'delta', seq: 9, channel: 'events', event: 'a', bucket: '2026-11-23T10:30:00.000Z', increment: 5 },
      { type: 'delta', seq: 9, channel: 'events', event: 'b', bucket: '2026-11-23T10:30:00.000Z', increment: 1 },
      { type: 'delta', seq: 9, channel: 'events', event: 'a', bucket: '2026-11-23T10:29:00.000Z', increment: 1 },
    ]);
    expect(out.merged).toBe(1);
    expect(out.alerts.map((a) => JSON.parse(a))).toEqual([{ type: 'alert', seq: 9, channel: 'alerts', id: 'r:1:firing', state: 'firing' }]);
    expect(out.activityChanged).toBe(false);
  });

  it('gives the same messages fed one entry at a time as the whole run at once (a resume reads page by page)', () => {
    const entries: FeedEntry[] = Array.from({ length: 9 }, (_, i) => delta(i + 1, [
      { event: i % 2 === 0 ? 'a' : 'b', bucket: '2026-11-23T10:30:00.000Z', increment: i + 1 },
      { event: 'a', bucket: `2026-11-23T10:2${i % 3}:00.000Z`, increment: 1 },
    ]));
    const paged = new FeedCoalescer(NOW, false);
    for (let from = 0; from < entries.length; from += 2) for (const e of entries.slice(from, from + 2)) paged.add(e);
    const whole = coalesce(entries, 9, NOW);
    const out = paged.finish(9);
    expect(out.events).toEqual(whole.events);
    expect(out.merged).toBe(whole.merged);
    expect(out.delays).toEqual([]);
    expect(whole.delays).toHaveLength(9);
    expect(whole.delays[0]).toEqual({ receivedAt: NOW - 100, events: ['a', 'a'] });
  });

  it("flags a change of today's active users only", () => {
    expect(coalesce([delta(1, [], [{ date: '2026-11-22', dau: 1, wau: 1, mau: 1 }])], 1, NOW).activityChanged).toBe(false);
    expect(coalesce([delta(1, [], [{ date: '2026-11-23', dau: 1, wau: 0, mau: 0 }])], 1, NOW).activityChanged).toBe(true);
  });
});

describe('snapshots', () => {
  const minute = Date.parse('2026-11-23T10:30:00Z');
  const needs = { minutes: 2, dimensions: false, activity: true, retentionDays: 3 };
  const state = new LiveFigures(
    [
      { doc: 'c1', marks: new Map([[0, 1]]), cells: [[countKey('a', minute), 4], [countKey('b', minute - 60_000), 2], [countKey('a', minute - 120_000), 9]] },
      { doc: 'a1', marks: new Map([[0, 1]]), cells: [[activityKey(dayNumber(NOW), 'dau'), 3], [activityKey(dayNumber(NOW), 'mau'), 5]] },
    ],
    12,
    new Map([[0, 1]]),
  );

  it('holds the window of minute counts, filtered by event', () => {
    expect(JSON.parse(snapshotMessage('events', state, needs, 0, NOW, null))).toEqual({
      type: 'snapshot', seq: 12, channel: 'events', granularity: 'minute', from: '2026-11-23T10:29:00.000Z',
      counts: [{ event: 'b', bucket: '2026-11-23T10:29:00.000Z', count: 2 }, { event: 'a', bucket: '2026-11-23T10:30:00.000Z', count: 4 }],
    });
    expect(JSON.parse(snapshotMessage('events', state, needs, 0, NOW, new Set(['a']), 'reset')).counts).toEqual([{ event: 'a', bucket: '2026-11-23T10:30:00.000Z', count: 4 }]);
  });

  it("gives today's active users as gauges", () => {
    expect(JSON.parse(activeUsersMessage(state, 7, NOW))).toEqual({ type: 'delta', seq: 12, channel: 'activeUsers', date: '2026-11-23', now: 7, dau: 3, wau: 0, mau: 5 });
  });
});
