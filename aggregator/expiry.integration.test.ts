import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../model/collections.js';
import type { StampedEvent } from '../model/event-stream.js';
import { bucketDocs, type EventIdDoc, type RawBucketDoc } from '../model/raw-events.js';
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
