import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { withDatabase } from '../core/mongo.js';
import { COLLECTIONS } from '../model/collections.js';
import type { StampedEvent } from '../model/event-stream.js';
import { bucketDocs, decodeEvents, type EventIdDoc, type RawBucketDoc } from '../model/raw-events.js';
import { AnalyticsStore } from './analytics-store.js';
import { RecentEventIds } from './recent-event-ids.js';
import { startTestServer, waitFor, type TestServer } from '../test/helpers.js';

describe('expiry', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ EXPIRY_SWEEP_SECONDS: '1' }, ['api', 'aggregator']);
  });
  afterAll(() => server.stop());

  it('removes documents past their expireAt and nothing younger, by TTL index or by the sweep, and says which', async () => {
    const db = server.running.runtime.mongo.db;
    const now = Date.now();
    const docs = (prefix: string) => [
      { _id: `${prefix}-old`, projectId: 'p', expireAt: new Date(now - 60_000) },
      { _id: `${prefix}-young`, projectId: 'p', expireAt: new Date(now + 3_600_000) },
    ];
    const names = [COLLECTIONS.users, COLLECTIONS.countsMinute, COLLECTIONS.countsDay, COLLECTIONS.activity, COLLECTIONS.retentionDaily];
    for (const name of names) await db.collection<{ _id: string }>(name).insertMany(docs(name));
    // Raw buckets go by the sweep on every server, and take their events' eventIds with them.
    const today = Math.floor(now / 86_400_000);
    const event = (eventId: string, day: number): StampedEvent => ({ eventId, projectId: 'p', event: 'e', userId: 'u', timestamp: day * 86_400_000, receivedAt: now, context: {} });
    const expired = bucketDocs([event('old-1', today - 400), { ...event('old-generated', today - 400), generated: true }], 0, 1, 365);
    const young = bucketDocs([event('young-1', today)], 0, 2, 365);
    await db.collection<RawBucketDoc>(COLLECTIONS.rawEvents).insertMany([...expired, ...young]);
    await db.collection<EventIdDoc>(COLLECTIONS.eventIds).insertMany([{ _id: 'p|old-1', b: '0:1' }, { _id: 'p|young-1', b: '0:2' }]);

    let mode = '';
    await waitFor(async () => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      mode = /^signalboard_expiry_mode\{mode="(ttl|sweep)"\} 1$/m.exec(metrics)?.[1] ?? '';
      return mode !== '';
    }, 'the expiry mode to be reported');
    // MongoDB's TTL monitor runs once a minute; FerretDB has none, and the sweep runs every second here.
    // One sweep visits the collections in turn: wait until every old document is gone.
    const oldLeft = async () => {
      let left = await db.collection(COLLECTIONS.eventIds).countDocuments({ _id: 'p|old-1' as never });
      left += await db.collection(COLLECTIONS.rawEvents).countDocuments({ _id: { $in: expired.map((d) => d._id) } as never });
      for (const name of names) left += await db.collection(name).countDocuments({ _id: `${name}-old` as never });
      return left;
    };
    await waitFor(async () => (await oldLeft()) === 0, 'expired documents to go', mode === 'ttl' ? 120_000 : 15_000);

    for (const name of names) {
      const left = (await db.collection<{ _id: string }>(name).find({}).toArray()).map((d) => d._id).sort();
      expect(left, name).toEqual([`${name}-young`]);
    }
    expect((await db.collection<RawBucketDoc>(COLLECTIONS.rawEvents).find({}).toArray()).map((d) => d._id)).toEqual(young.map((d) => d._id));
    expect((await db.collection<EventIdDoc>(COLLECTIONS.eventIds).find({}).toArray()).map((d) => d._id)).toEqual(['p|young-1']);
  }, 150_000);
});

describe('the raw-event sweep, day by day from raw_days', () => {
  const DAY = 86_400_000;
  const EXPIRY = 30;
  const now = Date.now();
  const today = Math.floor(now / DAY);
  let client: MongoClient;
  let db: Db;
  let store: AnalyticsStore;
  let seq = 0;
  beforeAll(async () => {
    client = new MongoClient(withDatabase(inject('mongoUrl'), `sbtest_rawexpiry_${randomBytes(4).toString('hex')}`));
    db = client.db();
    store = new AnalyticsStore(db, createLogger('silent'));
    await store.ensureIndexes();
  });
  afterAll(async () => {
    await db.dropDatabase();
    await client.close();
  });

  /** Stores `n` events of the UTC day `daysAgo` days before today, in a batch written at `asOf`, as a write cycle does. */
  const store1 = (daysAgo: number, n: number, asOf = now) =>
    store.insertEvents(
      [{ part: 0, seq: ++seq, asOf, recent: new RecentEventIds(0), events: Array.from({ length: n }, (_, i) => ({ eventId: `d${daysAgo}-${seq}-${i}`, projectId: 'p', event: 'e', userId: 'u', timestamp: (today - daysAgo) * DAY + i, receivedAt: asOf, context: {} })) }],
      EXPIRY,
    );
  const left = async () => {
    const buckets = await db.collection<RawBucketDoc>(COLLECTIONS.rawEvents).find({}).toArray();
    const days = [...new Set(buckets.map((b) => today - Math.round(b.day.getTime() / DAY)))].sort((a, b) => a - b);
    const ids = (await db.collection<EventIdDoc>(COLLECTIONS.eventIds).find({}).toArray()).map((d) => Number(/^p\|d(\d+)-/.exec(d._id)![1]));
    const recorded = (await db.collection<{ _id: string }>(COLLECTIONS.rawDays).find({}).toArray()).map((d) => d._id).filter((id) => id !== 'swept').map((id) => today - Number(id.split('|')[0]));
    return { days, idDays: [...new Set(ids)].sort((a, b) => a - b), recorded: recorded.sort((a, b) => a - b) };
  };

  it('records each day with buckets, refuses events already past retention, and on a store without a sweep record deletes the expired in one pass', async () => {
    await store1(5, 10);
    // Written 35 days ago, about a day 40 days ago: kept until 9 days ago.
    await store1(40, 10, now - 35 * DAY);
    // A day 100 days ago, past its 30 days already when written: neither stored nor counted.
    expect((await store1(100, 3))[0]).toEqual([]);
    expect(await left()).toEqual({ days: [5, 40], idDays: [5, 40], recorded: [5, 40] });
    // raw_days was written along: drop the record of day 40 to stand for a store from before it, and the sweep's record is absent.
    await db.collection<{ _id: string }>(COLLECTIONS.rawDays).deleteOne({ _id: `${today - 40}|p` });
    expect(await store.sweepExpired('ttl', EXPIRY, new Date(now))).toBe(10 + 1);
    expect(await left()).toEqual({ days: [5], idDays: [5], recorded: [5] });
  });

  it('finishes a day a crashed sweep left half done, keeps every younger day, and looks at recently swept days again', async () => {
    await store1(20, 1500);
    await store1(14, 10);
    // A sweep 20 days from now (retention ended for the days up to 12 days before today) crashed after one of day 20's buckets and its ids.
    const buckets = db.collection<RawBucketDoc>(COLLECTIONS.rawEvents);
    const first = (await buckets.find({ _id: { $gte: `p|${today - 20}|`, $lt: `p|${today - 20}}` } as never }).toArray())[0]!;
    expect(first.n).toBe(1000);
    await db.collection(COLLECTIONS.eventIds).deleteMany({ _id: { $in: decodeEvents(first).map((e) => `p|${e.eventId}`) } as never });
    await buckets.deleteOne({ _id: first._id });

    const later = now + 20 * DAY;
    expect(await store.sweepExpired('ttl', EXPIRY, new Date(later))).toBe(500 + 1 + 10 + 1);
    expect(await left()).toEqual({ days: [5], idDays: [5], recorded: [5] });
    // A bucket of day 13 stored after the sweep passed it (a batch written before): the next sweep finds it.
    await store1(13, 10);
    expect(await store.sweepExpired('ttl', EXPIRY, new Date(later))).toBe(11);
    expect(await left()).toEqual({ days: [5], idDays: [5], recorded: [5] });
  });
});
