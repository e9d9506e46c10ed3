import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../model/collections.js';
import { readPersons } from '../model/persons.js';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { sendAll, waitForDrain } from '../test/pipeline-check.js';

describe('identity links, as the aggregator stores them for reports', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: '4' }, ['ingest', 'api', 'aggregator']);
  });
  afterAll(() => server.stop());

  const drain = async () => {
    const redis = testRedis();
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, 4).finally(() => redis.disconnect());
  };

  it('keep the earliest link of each anonymous id, whatever order the links arrive in, per project', async () => {
    const project = await server.createProject('links');
    const other = await server.createProject('other-links');
    const t0 = Date.now() - 3_600_000;
    await sendAll(server.url, project.writeKey, [
      { event: 'view', anonymousId: 'a1', eventId: 'v1', timestamp: t0 },
      { event: 'signup', userId: 'u1', anonymousId: 'a1', eventId: 's1', timestamp: t0 + 300_000 },
      { event: '$alias', userId: 'u3', eventId: 'al', timestamp: t0 + 120_000, properties: { previousId: 'a9' } },
      { event: 'view', anonymousId: 'a9', eventId: 'v9', timestamp: t0 + 600_000 },
      { event: 'view', anonymousId: 'a5', eventId: 'v5', timestamp: t0 },
    ]);
    await sendAll(server.url, other.writeKey, [{ event: 'signup', userId: 'zz', anonymousId: 'a1', eventId: 'o1', timestamp: t0 }]);
    await drain();
    // An earlier link arrives later; one that is later still, and repeats of the first, change nothing.
    await sendAll(server.url, project.writeKey, [
      { event: 'x', userId: 'u2', anonymousId: 'a1', eventId: 'x1', timestamp: t0 + 60_000 },
      { event: 'y', userId: 'u4', anonymousId: 'a1', eventId: 'y1', timestamp: t0 + 900_000 },
      ...Array.from({ length: 20 }, (_, i) => ({ event: 'view', userId: 'u1', anonymousId: 'a1', eventId: `r${i}`, timestamp: t0 + 700_000 + i })),
    ]);
    await drain();

    const db = server.running.runtime.mongo.db;
    const persons = await readPersons(db, project.id);
    expect(['a1', 'a9', 'a5'].map((anonymousId) => persons.personOf({ anonymousId }))).toEqual(['u2', 'u3', 'a5']);
    expect((await readPersons(db, other.id)).personOf({ anonymousId: 'a1' })).toBe('zz');
    const stored = await db.collection(COLLECTIONS.personLinks).find({ projectId: project.id }, { projection: { _id: 0, anonymousId: 1, userId: 1, eventId: 1 } }).sort({ anonymousId: 1 }).toArray();
    expect(stored).toEqual([{ anonymousId: 'a1', userId: 'u2', eventId: 'x1' }, { anonymousId: 'a9', userId: 'u3', eventId: 'al' }]);
  });
});
