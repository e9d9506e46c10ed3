import { describe, expect, it } from 'vitest';
import type { StampedEvent } from './event-stream.js';
import { bucketDocs, decodeEvents, needsDeduplication, RAW_BUCKET_EVENTS } from './raw-events.js';

const DAY = 86_400_000;
const event = (i: number, day: number, projectId = 'p1'): StampedEvent => ({ eventId: `e${i}`, projectId, event: 'view', userId: `u${i % 7}`, timestamp: day * DAY + i, receivedAt: 0, properties: { n: i, text: 'ünïcödé, "quoted"\n' }, context: {} });

describe('raw event buckets', () => {
  it('group a batch by project and UTC day, at most RAW_BUCKET_EVENTS each, and give back every event in order', () => {
    const events = [...Array.from({ length: RAW_BUCKET_EVENTS + 5 }, (_, i) => event(i, 20_000)), event(9000, 19_999), event(9001, 20_000, 'p2')];
    const docs = bucketDocs(events, 3, 17, 365);
    expect(docs.map((d) => [d._id, d.n, d.day.getTime(), d.expireAt.getTime()])).toEqual([
      ['p1|20000|p3|17|0', RAW_BUCKET_EVENTS, 20_000 * DAY, (20_001 + 365) * DAY],
      ['p1|20000|p3|17|1', 5, 20_000 * DAY, (20_001 + 365) * DAY],
      ['p1|19999|p3|17|0', 1, 19_999 * DAY, (20_000 + 365) * DAY],
      ['p2|20000|p3|17|0', 1, 20_000 * DAY, (20_001 + 365) * DAY],
    ]);
    expect(docs.flatMap((d) => decodeEvents(d))).toEqual([...events.slice(0, RAW_BUCKET_EVENTS + 5), events.at(-2), events.at(-1)]);
  });

  it('are the same documents for the same events (a replay is a duplicate of the first attempt)', () => {
    const events = Array.from({ length: 50 }, (_, i) => event(i, 20_000));
    expect(bucketDocs(events, 1, 2, 30)).toEqual(bucketDocs(events.map((e) => ({ ...e })), 1, 2, 30));
  });

  it('deduplicate client eventIds only: a server-made one cannot repeat', () => {
    expect(needsDeduplication(event(1, 1))).toBe(true);
    expect(needsDeduplication({ ...event(1, 1), generated: true })).toBe(false);
  });
});
