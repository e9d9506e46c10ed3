import { describe, expect, it } from 'vitest';
import type { StampedEvent } from './event-stream.js';
import { randomBytes } from 'node:crypto';
import { BSON } from 'mongodb';
import { bucketDocs, decodeEvents, needsDeduplication, RAW_BUCKET_CHARS, RAW_BUCKET_EVENTS } from './raw-events.js';

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

  it('are cut by size too: 1,000 incompressible 32 KiB events make documents MongoDB can store (under 16 MiB each)', () => {
    const big = (i: number): StampedEvent => ({ ...event(i, 20_000), properties: { blob: randomBytes(24 * 1024).toString('base64') } });
    const events = Array.from({ length: RAW_BUCKET_EVENTS }, (_, i) => big(i));
    const docs = bucketDocs(events, 0, 1, 365);
    expect(docs.length).toBeGreaterThan(1);
    for (const doc of docs) expect(BSON.calculateObjectSize(doc)).toBeLessThan(16 * 1024 * 1024);
    expect(docs.map((d) => d._id)).toEqual(docs.map((_, i) => `p1|20000|p0|1|${i}`));
    expect(docs.flatMap((d) => decodeEvents(d))).toEqual(events);
    // One event larger than the bound still gets a document of its own.
    const huge = { ...event(1, 20_000), properties: { blob: 'x'.repeat(RAW_BUCKET_CHARS + 10) } };
    expect(bucketDocs([event(0, 20_000), huge, event(2, 20_000)], 0, 1, 365).map((d) => d.n)).toEqual([1, 1, 1]);
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
