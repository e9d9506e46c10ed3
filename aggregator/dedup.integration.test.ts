import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRawEvents } from '../model/raw-events.js';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { sendAll, waitForDrain } from '../test/pipeline-check.js';

const DAY = 86_400_000;
const PARTITIONS = 4;

/**
 * Invariant 2's duplicates: an eventId counts once however and whenever it comes again,
 * whether the runner still remembers it (AGGREGATOR_RECENT_EVENT_IDS) or only MongoDB's
 * unique index knows it (as after a restart, or days later).
 */
describe.each([['remembered by the runner', '20000'], ['known only to MongoDB', '0']])('duplicate eventIds, %s', (_, recentIds) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS), AGGREGATOR_RECENT_EVENT_IDS: recentIds }, ['ingest', 'api', 'aggregator']);
  });
  afterAll(() => server.stop());

  it('count once when repeated in one batch, in a later batch, and days later; server-made ids never collide', async () => {
    const project = await server.createProject('dedup');
    const redis = testRedis();
    const drain = () => waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS);
    const day = Math.floor(Date.now() / DAY) - 3;
    const at = day * DAY + 3_600_000;
    const original = { event: 'order', userId: 'buyer', eventId: 'order-1', timestamp: at, properties: { platform: 'web' } };
    // The same event twice in one request, and another event once.
    await sendAll(server.url, project.writeKey, [original, original, { ...original, eventId: 'order-2' }]);
    await drain();
    // Later batches: the same event again, then with the timestamp it would get if the
    // client had sent none (arrival time, "3 days later"), and from another user.
    await sendAll(server.url, project.writeKey, [original]);
    await drain();
    await sendAll(server.url, project.writeKey, [{ ...original, timestamp: Date.now() }, { ...original, userId: 'someone-else' }]);
    // Two events without an eventId: ingest makes one for each, and both count.
    await sendAll(server.url, project.writeKey, [{ event: 'order', userId: 'buyer', timestamp: at, properties: { platform: 'web' } }, { event: 'order', userId: 'buyer', timestamp: at, properties: { platform: 'web' } }]);
    await drain();
    redis.disconnect();

    const res = await fetch(`${server.url}/v1/metrics/timeseries?event=order&granularity=day&from=${new Date((day - 1) * DAY).toISOString()}&to=${new Date((day + 4) * DAY - 1).toISOString()}`, { headers: { authorization: `Bearer ${project.readKey}` } });
    const { points } = (await res.json()) as { points: Array<{ t: string; count: number }> };
    expect(points.map((p) => p.count)).toEqual([0, 4, 0, 0, 0]);

    const stored = [];
    for await (const e of readRawEvents(server.running.runtime.mongo.db, { projectId: project.id, fromDay: day - 1, toDay: day + 4 })) stored.push(e);
    expect(stored.filter((e) => !e.generated).map((e) => [e.eventId, e.userId, e.timestamp]).sort()).toEqual([['order-1', 'buyer', at], ['order-2', 'buyer', at]]);
    expect(stored.filter((e) => e.generated).length).toBe(2);
  }, 60_000);
});
