import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { COLLECTIONS } from '../model/collections.js';
import { withDatabase } from '../core/mongo.js';
import { PartitionStates } from './partition-state.js';

const batch = (seq: number, from: string, to: string) => ({ seq, from, to, events: 3 });

describe('partition states (one document for all partitions)', () => {
  let client: MongoClient;
  let db: Db;
  beforeAll(async () => {
    client = new MongoClient(withDatabase(inject('mongoUrl'), `sbtest_states_${randomBytes(4).toString('hex')}`));
    db = client.db();
  });
  afterAll(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('fences every write by partition: a stale holder writes nothing, the others go on in one update', async () => {
    const states = new PartitionStates(db);
    expect(await states.claim(1, 5)).toEqual({ _id: 1, fence: 5, committed: '0-0', seq: 0, consumed: 0, inflight: null });
    expect(await states.claim(2, 5)).toMatchObject({ _id: 2, fence: 5 });
    // A newer holder of partition 2; a claim with an older token is refused.
    expect(await states.claim(2, 6)).toMatchObject({ fence: 6 });
    expect(await states.claim(2, 4)).toBeUndefined();
    expect(await states.fence(2)).toBe(6);
    expect(await states.fence(9)).toBe(0);

    const lost = await states.begin([
      { partition: 1, fence: 5, batch: batch(1, '0-0', '10-0') },
      { partition: 2, fence: 5, batch: batch(1, '0-0', '11-0') },
    ]);
    expect(lost).toEqual(new Set([2]));
    const committed = await states.commit([{ partition: 1, fence: 5, batch: batch(1, '0-0', '10-0'), consumed: 3, next: batch(2, '10-0', '12-0') }]);
    expect(committed).toEqual(new Set());
    // What the next holder of each finds.
    expect(await states.claim(1, 7)).toEqual({ _id: 1, fence: 7, committed: '10-0', seq: 1, consumed: 3, inflight: batch(2, '10-0', '12-0') });
    expect(await states.claim(2, 7)).toEqual({ _id: 2, fence: 7, committed: '0-0', seq: 0, consumed: 0, inflight: null });
  });

  it('carries on from a store that kept one document per partition', async () => {
    const legacy = { _id: 3, fence: 4, committed: '99-0', seq: 12, consumed: 480, inflight: batch(13, '99-0', '120-0') };
    await db.collection(COLLECTIONS.partitions).insertOne(legacy as never);
    expect(await new PartitionStates(db).claim(3, 8)).toEqual({ ...legacy, fence: 8 });
  });
});
