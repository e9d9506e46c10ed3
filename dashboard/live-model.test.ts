import { describe, expect, it } from 'vitest';
import { parseServerMessage, type ServerMessage } from './live-messages.js';
import { LiveModel, type RuleView } from './live-model.js';

const M = 60_000;
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const msg = (m: Record<string, unknown>): ServerMessage => {
  const parsed = parseServerMessage(JSON.stringify(m));
  if (parsed === undefined) throw new Error(`not a server message: ${JSON.stringify(m)}`);
  return parsed;
};
const subscribed = (seq: number, resumed = false) => msg({ type: 'subscribed', seq, epoch: '7', channels: [], resumed });
const sync = (seq: number, epoch: string | null = '7') => msg({ type: 'sync', seq, epoch });
const eventsSnapshot = (seq: number, counts: [string, number, number][], from = T0 - 59 * M) =>
  msg({ type: 'snapshot', seq, channel: 'events', granularity: 'minute', from: iso(from), counts: counts.map(([event, bucket, count]) => ({ event, bucket: iso(bucket), count })) });
const delta = (seq: number, event: string, bucket: number, increment: number) => msg({ type: 'delta', seq, channel: 'events', event, bucket: iso(bucket), increment });
const alert = (ruleId: string, state: 'firing' | 'resolved', at: number, firing = 1) =>
  msg({ type: 'alert', seq: 9, channel: 'alerts', id: `${ruleId}:${firing}:${state}`, ruleId, name: `rule ${ruleId}`, state, value: 3, at: iso(at), firing, metric: {}, condition: {} });

/** A model after a subscribe answer: subscribed, the snapshots, the sync. */
function live(counts: [string, number, number][] = [['view', T0, 5]]): LiveModel {
  const model = new LiveModel();
  for (const m of [subscribed(10), eventsSnapshot(10, counts), sync(10)]) model.receive(m);
  model.takeChanges();
  return model;
}

describe('the live model: events', () => {
  it('folds a snapshot and the deltas after it into minute counts and totals', () => {
    const model = live([['view', T0, 5], ['buy', T0 - M, 2]]);
    expect(model.liveFrom).toBe(T0 - 59 * M);
    for (const m of [delta(11, 'view', T0, 3), delta(11, 'signup', T0, 1), sync(11)]) model.receive(m);
    expect(model.counts.get('view')?.get(T0)).toBe(8);
    expect(model.counts.get('signup')?.get(T0)).toBe(1);
    expect([...model.totals]).toEqual([[T0, 9], [T0 - M, 2]]);
    expect(model.takeChanges()).toEqual({ panels: new Set(['events']), events: new Set(['view', 'signup']) });
  });

  it('applies a flush only when its sync comes: a flush cut by a lost connection is not counted', () => {
    const model = live();
    model.receive(delta(11, 'view', T0, 3));
    expect(model.counts.get('view')?.get(T0)).toBe(5);
    model.connectionLost();
    // The resume brings the same flush again.
    for (const m of [subscribed(11, true), delta(11, 'view', T0, 3), sync(11)]) model.receive(m);
    expect(model.counts.get('view')?.get(T0)).toBe(8);
  });

  it('resumes from the last sync applied, with its epoch; not before the snapshots', () => {
    const model = new LiveModel();
    expect(model.resumePoint()).toBeUndefined();
    model.receive(subscribed(4));
    model.receive(eventsSnapshot(4, []));
    expect(model.resumePoint()).toBeUndefined();
    model.receive(sync(4, null));
    expect(model.resumePoint()).toEqual({ resume: 4, epoch: null });
    for (const m of [delta(6, 'a', T0, 1), sync(6, '99')]) model.receive(m);
    expect(model.resumePoint()).toEqual({ resume: 6, epoch: '99' });
  });

  it('replaces everything with the snapshots of an answer that could not resume', () => {
    const model = live([['view', T0, 5]]);
    for (const m of [subscribed(50), eventsSnapshot(50, [['buy', T0, 1]], T0 - 30 * M), sync(50)]) model.receive(m);
    expect([...model.counts.keys()]).toEqual(['buy']);
    expect(model.liveFrom).toBe(T0 - 30 * M);
    expect(model.takeChanges().events).toBe('all');
  });

  it('drops a late delta older than the live minutes (the chart has that minute from the API)', () => {
    const model = live();
    for (const m of [delta(11, 'view', T0 - 120 * M, 4), sync(11)]) model.receive(m);
    expect(model.counts.get('view')?.has(T0 - 120 * M)).toBe(false);
  });

  it('keeps a page open for days small: minutes older than a few hours go, and liveFrom moves', () => {
    const model = live([['view', T0, 5]]);
    for (let i = 1; i <= 400; i++) model.receive(delta(10 + i, 'view', T0 + i * M, 1));
    model.receive(sync(411));
    model.prune(T0 + 400 * M);
    expect(model.liveFrom).toBe(T0 + 220 * M);
    expect(model.counts.get('view')?.size).toBe(181);
    expect(Math.min(...model.totals.keys())).toBe(T0 + 220 * M);
    model.prune(T0 + 401 * M);
    expect(model.liveFrom).toBe(T0 + 220 * M);
  });

  // How fast: `npm run bench:dashboard` (docs/dashboard.md#staying-responsive-at-10000-eventss).
  it('folds a second of 10,000 events/s (20 flushes × 200 event names) into the totals exactly', () => {
    const model = live();
    const names = Array.from({ length: 200 }, (_, i) => `event-${i}`);
    const messages: ServerMessage[] = [];
    for (let flush = 0; flush < 20; flush++) {
      for (const name of names) messages.push(delta(11 + flush, name, T0, 2.5));
      messages.push(sync(11 + flush));
    }
    for (const m of messages) model.receive(m);
    expect(model.totals.get(T0)).toBe(5 + 20 * 200 * 2.5);
    expect(model.counts.get('event-7')?.get(T0)).toBe(20 * 2.5);
  });
});

describe('the live model: gauges and retention', () => {
  it('takes the live DAU over the API one, whichever comes first', () => {
    const model = new LiveModel();
    model.loadDau('2026-11-23', 10);
    expect(model.dau).toEqual({ date: '2026-11-23', users: 10, live: false });
    model.receive(msg({ type: 'snapshot', seq: 1, channel: 'activeUsers', date: '2026-11-23', now: 2, dau: 12, wau: 30, mau: 40 }));
    model.loadDau('2026-11-23', 10);
    expect(model.dau).toEqual({ date: '2026-11-23', users: 12, live: true });
    model.receive(msg({ type: 'delta', seq: 2, channel: 'activeUsers', date: '2026-11-23', now: 1, dau: 13, wau: 31, mau: 41 }));
    expect(model.activeUsers).toEqual({ date: '2026-11-23', now: 1, dau: 13, wau: 31, mau: 41 });
  });

  it('adds retention deltas to the live cohorts (offset 0 grows the cohort), and ignores the API once live', () => {
    const model = new LiveModel();
    model.loadRetention([{ cohort: '2026-11-22', size: 3, retained: [3, 1] }]);
    expect(model.cohorts?.get('2026-11-22')?.retained).toEqual([3, 1]);
    for (const m of [
      subscribed(1),
      msg({ type: 'snapshot', seq: 1, channel: 'retention', period: 'day', from: '2026-10-25', cohorts: [{ cohort: '2026-11-22', size: 4, retained: [4, 1] }] }),
      msg({ type: 'delta', seq: 2, channel: 'retention', cohort: '2026-11-22', offset: 1, increment: 1 }),
      msg({ type: 'delta', seq: 2, channel: 'retention', cohort: '2026-11-23', offset: 0, increment: 2 }),
      msg({ type: 'delta', seq: 2, channel: 'retention', cohort: '2026-11-21', offset: 2, increment: 1 }),
      sync(2),
    ]) model.receive(m);
    expect(model.cohorts?.get('2026-11-22')).toEqual({ cohort: '2026-11-22', size: 4, retained: [4, 2] });
    expect(model.cohorts?.get('2026-11-23')).toEqual({ cohort: '2026-11-23', size: 2, retained: [2] });
    expect(model.cohorts?.get('2026-11-21')?.retained).toEqual([0, 0, 1]);
    model.loadRetention([]);
    expect(model.cohorts?.size).toBe(3);
  });
});

describe('the live model: alerts', () => {
  const rule = (id: string, status: string, since = iso(T0)): RuleView => ({ id, name: `rule ${id}`, metric: { type: 'count', event: 'x' }, condition: { kind: 'threshold', op: '>', value: 1, window: '1m' }, state: { status, since, value: 2 } });

  it('lists firing rules from the API until the live snapshot, then follows alert messages', () => {
    const model = new LiveModel();
    model.loadAlerts([rule('a', 'firing'), rule('b', 'ok')], []);
    expect([...model.firing.keys()]).toEqual(['a']);
    model.receive(subscribed(1));
    // An alert before the snapshot (the snapshot is read from MongoDB after the socket joined).
    model.receive(alert('b', 'firing', T0 + 1000));
    model.receive(msg({ type: 'snapshot', seq: 1, channel: 'alerts', firing: [{ ruleId: 'c', name: 'rule c', status: 'firing', since: T0, value: 5, firings: 1 }] }));
    expect([...model.firing.keys()].sort()).toEqual(['b', 'c']);
    model.receive(alert('c', 'resolved', T0 + 2000));
    expect([...model.firing.keys()]).toEqual(['b']);
    // A later API answer does not undo the live state.
    model.loadAlerts([rule('a', 'firing'), rule('b', 'ok'), rule('c', 'firing')], []);
    expect([...model.firing.keys()]).toEqual(['b']);
    expect(model.rules!.map((r) => model.ruleStatus(r))).toEqual(['resolved', 'firing', 'resolved']);
  });

  it('keeps recent alerts newest first, once each, at most 20', () => {
    const model = new LiveModel();
    const history = Array.from({ length: 25 }, (_, i) => ({ id: `h${i}`, ruleId: 'a', name: 'a', state: 'firing' as const, value: 1, at: iso(T0 - i * 1000), firing: i }));
    model.loadAlerts([], history);
    model.receive(alert('b', 'firing', T0 + 5000));
    model.receive(alert('b', 'firing', T0 + 5000));
    expect(model.recent).toHaveLength(20);
    expect(model.recent.slice(0, 2).map((a) => a.id)).toEqual(['b:1:firing', 'h0']);
  });
});
