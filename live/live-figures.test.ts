import { describe, expect, it } from 'vitest';
import { LiveFigures, type DocChange, type LoadedDoc } from './live-figures.js';

const doc = (name: string, partition: number, wm: number, value: number): LoadedDoc => ({ doc: name, marks: new Map([[partition, wm]]), cells: [[name, value]] });
const change = (name: string, increment: number): DocChange => ({ doc: name, cells: [[name, increment]] });

describe('LiveFigures', () => {
  it('is settled at once when the feed has carried every loaded batch', () => {
    const state = new LiveFigures([doc('a', 0, 5, 10), doc('b', 1, 3, 4)], 20, new Map([[0, 5], [1, 7]]));
    expect(state.settled).toBe(true);
    expect(state.seq).toBe(20);
    state.applyDelta(21, 0, 6, [change('a', 2)]);
    expect(state.cells.get('a')).toBe(12);
  });

  it('skips changes a loaded document already holds, and settles when the feed carries the newest loaded batch', () => {
    // Partition 0: documents hold batch 8, the feed had carried up to 6 when the load began.
    const state = new LiveFigures([doc('a', 0, 8, 10), doc('b', 0, 7, 5), doc('c', 1, 2, 1)], 30, new Map([[0, 6], [1, 2]]));
    expect(state.settled).toBe(false);
    expect(state.awaitedPartitions()).toEqual([0]);
    state.applyDelta(31, 0, 7, [change('a', 1), change('b', 1)]); // both documents hold batch 7 already
    expect([state.cells.get('a'), state.cells.get('b')]).toEqual([10, 5]);
    expect(state.settled).toBe(false);
    state.applyDelta(32, 0, 8, [change('a', 3), change('b', 2), change('new', 4)]); // only 'a' holds batch 8
    expect([state.cells.get('a'), state.cells.get('b'), state.cells.get('new')]).toEqual([10, 7, 4]);
    expect(state.settled).toBe(true);
    state.applyDelta(33, 0, 9, [change('a', 1)]);
    expect(state.cells.get('a')).toBe(11);
    expect(state.seq).toBe(33);
  });

  it('equals the sum of the feed whatever moment the documents were read', () => {
    // The feed: batches 1..6 of one partition, each adding to 'x' and 'y' alternately.
    const feed = Array.from({ length: 6 }, (_, i) => ({ seq: i + 1, batch: i + 1, changes: [change(i % 2 === 0 ? 'x' : 'y', i + 1)] }));
    const truth = (upTo: number) => {
      const sums = new Map<string, number>();
      for (const f of feed.slice(0, upTo)) for (const c of f.changes) sums.set(c.doc, (sums.get(c.doc) ?? 0) + (c.cells[0]![1] as number));
      return sums;
    };
    // Appended up to `appended` when the load began; documents read after `applied` batches were in MongoDB.
    for (let appended = 0; appended <= 6; appended++) {
      for (let applied = appended; applied <= 6; applied++) {
        const docs: LoadedDoc[] = [];
        for (const name of ['x', 'y']) {
          const mine = feed.slice(0, applied).filter((f) => f.changes[0]!.doc === name);
          if (mine.length > 0) docs.push(doc(name, 0, mine.at(-1)!.batch, mine.reduce((a, f) => a + (f.changes[0]!.cells[0]![1] as number), 0)));
        }
        const state = new LiveFigures(docs, appended, new Map(appended === 0 ? [] : [[0, appended]]));
        for (const f of feed.slice(appended)) state.applyDelta(f.seq, 0, f.batch, f.changes);
        expect(state.settled).toBe(true);
        expect(state.cells, `appended ${appended}, applied ${applied}`).toEqual(truth(6));
      }
    }
  });

  it('judges each partition of a document written by several by that partition\'s mark', () => {
    // 'a' holds batch 5 of partition 0 and batch 2 of partition 1; the feed had carried 4 and 2.
    const state = new LiveFigures([{ doc: 'a', marks: new Map([[0, 5], [1, 2]]), cells: [['a', 10]] }], 9, new Map([[0, 4], [1, 2]]));
    expect(state.awaitedPartitions()).toEqual([0]);
    state.applyDelta(10, 1, 3, [change('a', 1)]); // partition 1's batch 3: not in the document
    state.applyDelta(11, 0, 5, [change('a', 2)]); // partition 0's batch 5: in it
    expect(state.cells.get('a')).toBe(11);
    expect(state.settled).toBe(true);
  });

  it('takes the newer mark of two documents of one identity (per-partition documents of an older store next to the new one)', () => {
    const state = new LiveFigures([doc('a', 0, 3, 10), doc('a', 0, 7, 4)], 5, new Map([[0, 6]]));
    expect(state.cells.get('a')).toBe(14);
    state.applyDelta(6, 0, 7, [change('a', 1)]); // held by the newer document
    expect(state.cells.get('a')).toBe(14);
    expect(state.settled).toBe(true);
  });

  it('keeps skipping held batches after giving up waiting', () => {
    const state = new LiveFigures([doc('a', 0, 4, 10)], 3, new Map([[0, 2]]));
    state.settleNow();
    expect(state.settled).toBe(true);
    state.applyDelta(4, 0, 3, [change('a', 5)]);
    expect(state.cells.get('a')).toBe(10);
  });

  it('prunes cells the caller no longer keeps and drops zeroes', () => {
    const state = new LiveFigures([doc('old', 0, 1, 2), doc('new', 0, 1, 3)], 1, new Map([[0, 1]]));
    state.prune((key) => key === 'old');
    state.applyDelta(2, 0, 2, [change('new', -3)]);
    expect([...state.cells]).toEqual([]);
  });
});
