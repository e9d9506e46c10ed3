import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../core/collections.js';
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
    const names = [COLLECTIONS.events, COLLECTIONS.users, COLLECTIONS.countsMinute, COLLECTIONS.countsDay, COLLECTIONS.activity, COLLECTIONS.retentionDaily];
    for (const name of names) await db.collection<{ _id: string }>(name).insertMany(docs(name));

    let mode = '';
    await waitFor(async () => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      mode = /^signalboard_expiry_mode\{mode="(ttl|sweep)"\} 1$/m.exec(metrics)?.[1] ?? '';
      return mode !== '';
    }, 'the expiry mode to be reported');
    // MongoDB's TTL monitor runs once a minute; FerretDB has none, and the sweep runs every second here.
    // One sweep visits the collections in turn: wait until every old document is gone.
    const oldLeft = async () => {
      let left = 0;
      for (const name of names) left += await db.collection(name).countDocuments({ _id: `${name}-old` as never });
      return left;
    };
    await waitFor(async () => (await oldLeft()) === 0, 'expired documents to go', mode === 'ttl' ? 120_000 : 15_000);

    for (const name of names) {
      const left = (await db.collection<{ _id: string }>(name).find({}).toArray()).map((d) => d._id).sort();
      expect(left, name).toEqual([`${name}-young`]);
    }
  }, 150_000);
});
