import { describe, expect, it } from 'vitest';
import type { RollupDeltaDoc } from './collections.js';
import { BSON } from 'mongodb';
import { decodeDelta, DELTA_MAX_CHARS, encodeRollupChanges, matchesFilter, rollupDeltaDocs, rollupDeltaId, withDeltas, type RollupChange } from './rollup-deltas.js';

const minute = (t: number) => new Date(Date.UTC(2026, 11, 2, 10, t));
const countChange = (event: string, t: number, count: number): RollupChange => ({ _id: `p|${minute(t).getTime()}|${event}`, projectId: 'p', event, bucket: minute(t), count, by: { platform: { web: count } }, expireAt: minute(t + 60) });
// Encoded as stored and decoded as read: the round trip is part of what is tested.
const delta = (part: number, seq: number, changes: Record<string, RollupChange[]>) => decodeDelta({ _id: rollupDeltaId('p', part, seq), projectId: 'p', part, seq, changes: encodeRollupChanges(changes) } satisfies RollupDeltaDoc);

describe('withDeltas', () => {
  const base: RollupChange[] = [{ ...countChange('signup', 1, 10), wm: { p0: 4, p1: 2 } }];

  it('adds the changes a document does not hold yet, each with the watermark of its batch', () => {
    const deltas = [
      delta(0, 4, { counts_minute: [countChange('signup', 1, 100)] }), // held: p0 is at 4
      delta(0, 5, { counts_minute: [countChange('signup', 1, 3), countChange('login', 1, 7)] }),
      delta(1, 3, { counts_minute: [countChange('signup', 1, 2)], activity: [{ _id: 'p|x', projectId: 'p', day: minute(0), dau: 1, wau: 1, mau: 1 }] }),
    ];
    const out = withDeltas('counts_minute', base, deltas, { projectId: 'p', bucket: { $gte: minute(0) } });
    expect(out.map((d) => [d._id, d.count, d.wm])).toEqual([
      [base[0]!._id, 10, { p0: 4, p1: 2 }],
      [base[0]!._id, 3, { p0: 5 }],
      [countChange('login', 1, 0)._id, 7, { p0: 5 }],
      [base[0]!._id, 2, { p1: 3 }],
    ]);
    // Dates and nested counters come back as they went in.
    expect(out[2]).toMatchObject({ bucket: minute(1), by: { platform: { web: 7 } } });
  });

  it('leaves out changes the filter does not select', () => {
    const deltas = [delta(0, 5, { counts_minute: [countChange('signup', 30, 1), countChange('login', 2, 1)] })];
    expect(withDeltas<RollupChange>('counts_minute', [], deltas, { projectId: 'p', event: 'login', bucket: { $gte: minute(0), $lte: minute(10) } }).map((d) => d.event)).toEqual(['login']);
    expect(withDeltas<RollupChange>('counts_minute', [], deltas, { projectId: 'p', event: { $in: ['signup'] } }).map((d) => d.bucket)).toEqual([minute(30)]);
    expect(withDeltas<RollupChange>('counts_hour', [], deltas, { projectId: 'p' })).toEqual([]);
  });
});

describe('rollupDeltaDocs', () => {
  it('keeps one document with the plain id when the changes are small', () => {
    const docs = rollupDeltaDocs('p', 3, 9, { counts_minute: [countChange('signup', 1, 2)] });
    expect(docs.map((d) => [d._id, d.part, d.seq])).toEqual([['p|3|9', 3, 9]]);
  });

  it('splits many distinct names into documents MongoDB can store, each change whole in one, the same way every time', () => {
    // 15,000 distinct 600-byte event names (what a burst of hostile events makes of one batch): over 16 MiB as one document.
    const changes = { counts_minute: Array.from({ length: 15_000 }, (_, i) => countChange(`${i}-${'名'.repeat(200)}`, i % 60, 1)) };
    expect(Buffer.byteLength(encodeRollupChanges(changes))).toBeGreaterThan(16 * 1024 * 1024);
    const docs = rollupDeltaDocs('p', 0, 5, changes);
    expect(docs.length).toBeGreaterThan(1);
    expect(docs.map((d) => d._id)).toEqual(docs.map((_, i) => (i === 0 ? 'p|0|5' : `p|0|5|${i}`)));
    for (const doc of docs) {
      expect(doc.changes.length).toBeLessThanOrEqual(DELTA_MAX_CHARS);
      expect(BSON.calculateObjectSize(doc)).toBeLessThan(16 * 1024 * 1024);
    }
    expect(docs.flatMap((d) => decodeDelta(d).changes.counts_minute!).map((c) => c._id)).toEqual(changes.counts_minute.map((c) => c._id));
    expect(rollupDeltaDocs('p', 0, 5, changes)).toEqual(docs);
  });
});

describe('matchesFilter', () => {
  const doc = { projectId: 'p', event: 'a', bucket: minute(5), n: 3 };
  it('decides equality, $in and ranges on strings, numbers and dates as MongoDB does', () => {
    expect(matchesFilter(doc, { projectId: 'p', bucket: minute(5) })).toBe(true);
    expect(matchesFilter(doc, { projectId: 'q' })).toBe(false);
    expect(matchesFilter(doc, { bucket: { $gt: minute(5) } })).toBe(false);
    expect(matchesFilter(doc, { bucket: { $gte: minute(5), $lt: minute(6) } })).toBe(true);
    expect(matchesFilter(doc, { n: { $lte: 2 } })).toBe(false);
    expect(matchesFilter(doc, { event: { $in: ['b', 'a'] } })).toBe(true);
    expect(matchesFilter(doc, { missing: { $gte: 0 } })).toBe(false);
  });
  it('refuses an operator it does not know instead of guessing', () => {
    expect(() => matchesFilter(doc, { event: { $regex: 'a' } })).toThrow('rollup filter: event: operator $regex is not supported');
  });
});
