import { describe, expect, it } from 'vitest';
import { LIVE_FEED_KEPT, type DeltaEntry, type FeedEntry } from '../live/feed.js';
import { resumeFeed, type ResumeSource } from './live-resume.js';

const NOW = Date.parse('2026-11-23T10:30:20Z');

function delta(seq: number, increment = 1): DeltaEntry {
  return { type: 'delta', seq, projectId: 'p', partition: 0, batch: seq, receivedAt: NOW, counts: [{ event: 'a', bucket: '2026-11-23T10:30:00.000Z', increment }], activeUsers: [], retention: [] };
}

/** A feed of `entries`, read `pageSize` at a time, published up to `position`. */
function source(entries: FeedEntry[], position: number | undefined, pageSize = 2, current = () => true): ResumeSource & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    position: () => position,
    readPage: async (after, to) => {
      reads.push(after);
      return entries.filter((e) => e.seq > after && e.seq <= to).slice(0, pageSize);
    },
    current,
  };
}

describe('resumeFeed', () => {
  it('coalesces the deltas after the seq, page by page, up to what was published', async () => {
    const feed = Array.from({ length: 6 }, (_, i) => delta(i + 1, i + 1));
    const from = source(feed, 5);
    const outcome = await resumeFeed(1, from, NOW);
    expect(from.reads).toEqual([1, 3]);
    expect(outcome.kind).toBe('feed');
    if (outcome.kind !== 'feed') return;
    expect(outcome.seq).toBe(5);
    // Seqs 2-5 (increments 2+3+4+5) in one message for the bucket; seq 6 comes through the topics.
    expect(outcome.feed.events.map((e) => JSON.parse(e.message) as { increment: number; seq: number })).toEqual([expect.objectContaining({ increment: 14, seq: 5 })]);
  });

  it('answers at once with nothing missed when the client is up to date', async () => {
    const from = source([], 4);
    const outcome = await resumeFeed(4, from, NOW);
    expect(from.reads).toEqual([]);
    expect(outcome).toMatchObject({ kind: 'feed', seq: 4 });
  });

  it.each<[string, FeedEntry[], number, number, string]>([
    ['a seq beyond the feed', [delta(1)], 1, 3, 'resume-unknown-seq'],
    ['more behind than the feed keeps', [], LIVE_FEED_KEPT + 10, 5, 'resume-too-old'],
    ['entries gone from the feed (a gap)', [delta(5), delta(6)], 6, 2, 'resume-too-old'],
    ['a reset among the entries', [delta(3), { type: 'reset', seq: 4, projectId: 'p', reason: 'recomputed' } as FeedEntry, delta(5)], 5, 2, 'reset'],
  ])('snapshots instead for %s', async (_, entries, position, since, reason) => {
    expect(await resumeFeed(since, source(entries, position, 10), NOW)).toEqual({ kind: 'snapshot', reason });
  });

  it('gives up while the project reloads, and when the socket moved on', async () => {
    expect(await resumeFeed(1, source([delta(2)], undefined), NOW)).toEqual({ kind: 'reloading' });
    expect(await resumeFeed(1, source([delta(2)], 2, 2, () => false), NOW)).toEqual({ kind: 'stale' });
  });
});
