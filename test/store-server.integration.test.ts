import { randomBytes } from 'node:crypto';
import { MongoBulkWriteError, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../core/mongo.js';
import { createExpiryIndexes, insertUnlessPresent, updatesAreAtomic } from '../core/store-compat.js';
import { FERRETDB_INSERT_BATCH } from '../scripts/local-services.js';

/**
 * What the aggregator relies on from the MongoDB-compatible server it runs on (the local
 * FerretDB build, patched in scripts/local-services.ts, or mongod): an unordered insert
 * that meets existing `_id`s stores every other document and names each refused one.
 */
describe('the store server', () => {
  let client: MongoClient;
  beforeAll(() => {
    client = new MongoClient(withDatabase(inject('mongoUrl'), `sbtest_store_${randomBytes(4).toString('hex')}`));
  });
  afterAll(async () => {
    await client.db().dropDatabase();
    await client.close();
  });

  it('stores the rest of an unordered insert around duplicates, and reports each by its index', async () => {
    const ids = client.db().collection<{ _id: string; b: string }>('ids');
    // Three of the local FerretDB's insert transactions, duplicates in the first, the second (two) and the last.
    const size = 2 * FERRETDB_INSERT_BATCH + 1_000;
    const taken = [0, FERRETDB_INSERT_BATCH + 100, FERRETDB_INSERT_BATCH + 101, size - 1];
    await ids.insertMany(taken.map((i) => ({ _id: `id-${i}`, b: 'earlier' })));
    const docs = Array.from({ length: size }, (_, i) => ({ _id: `id-${i}`, b: 'now' }));
    const err = await ids.insertMany(docs, { ordered: false }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bulk = err as MongoBulkWriteError;
    const errors = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors];
    expect(errors.map((e) => [e.index, e.code]).sort((a, b) => a[0]! - b[0]!)).toEqual(taken.map((i) => [i, 11000]));
    expect(bulk.insertedCount).toBe(size - taken.length);
    const stored = await ids.find({}).toArray();
    expect(stored).toHaveLength(size);
    expect(stored.filter((d) => d.b === 'earlier').map((d) => d._id).sort()).toEqual(taken.map((i) => `id-${i}`).sort());
  });

  it('refuses the second of two documents with one new _id in an insert, and stops an ordered insert at its first duplicate', async () => {
    const ids = client.db().collection<{ _id: string; b: string }>('twice');
    const unordered = await ids.insertMany([{ _id: 'a', b: '1' }, { _id: 'b', b: '1' }, { _id: 'a', b: '2' }, { _id: 'c', b: '1' }], { ordered: false }).then(() => undefined, (e: unknown) => e as MongoBulkWriteError);
    const errors = Array.isArray(unordered!.writeErrors) ? unordered!.writeErrors : [unordered!.writeErrors];
    expect(errors.map((e) => [e.index, e.code])).toEqual([[2, 11000]]);
    expect(await ids.find({}).sort({ _id: 1 }).toArray()).toEqual([{ _id: 'a', b: '1' }, { _id: 'b', b: '1' }, { _id: 'c', b: '1' }]);

    const ordered = await ids.insertMany([{ _id: 'd', b: '1' }, { _id: 'b', b: '2' }, { _id: 'e', b: '1' }], { ordered: true }).then(() => undefined, (e: unknown) => e as MongoBulkWriteError);
    expect(ordered!.insertedCount).toBe(1);
    expect((await ids.find({}).toArray()).map((d) => d._id).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('finds and deletes exactly the documents a long $in names, strings or mixed, on _id and on another field', async () => {
    const docs = client.db().collection<{ _id: string; k: string | number }>('in');
    await docs.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: `d${i}`, k: i % 2 === 0 ? `k${i}` : i })));
    const names = (found: Array<{ _id: string }>) => found.map((d) => d._id).sort();
    const ids = [...Array.from({ length: 30 }, (_, i) => `d${i * 3}`), 'absent', 'd1x'];
    expect(names(await docs.find({ _id: { $in: ids } }).toArray())).toEqual(ids.slice(0, 30).sort());
    // Strings and numbers in one list: each document's value compared as MongoDB does ("k4" and 5 match, "5" does not).
    const mixed = [...Array.from({ length: 20 }, (_, i) => `k${i}`), 5, 7, '9'];
    expect(names(await docs.find({ k: { $in: mixed } }).toArray())).toEqual(['d0', 'd10', 'd12', 'd14', 'd16', 'd18', 'd2', 'd4', 'd5', 'd6', 'd7', 'd8']);
    expect((await docs.deleteMany({ _id: { $in: ids } })).deletedCount).toBe(30);
    expect(await docs.countDocuments()).toBe(70);
  });
});

describe('core/store-compat on the store server', () => {
  let client: MongoClient;
  beforeAll(() => {
    client = new MongoClient(withDatabase(inject('mongoUrl'), `sbtest_compat_${randomBytes(4).toString('hex')}`));
  });
  afterAll(async () => {
    await client.db().dropDatabase();
    await client.close();
  });

  it('inserts a document once, and says so: a taken _id is no error', async () => {
    const docs = client.db().collection<{ _id: string; n: number }>('once');
    expect(await insertUnlessPresent(docs, { _id: 'a', n: 1 })).toBe(true);
    expect(await insertUnlessPresent(docs, { _id: 'a', n: 2 })).toBe(false);
    expect(await docs.find({}).toArray()).toEqual([{ _id: 'a', n: 1 }]);
  });

  it('creates the expiry index the server supports: TTL on mongod, a plain one to sweep on FerretDB', async () => {
    const docs = client.db().collection('expiring');
    const mode = await createExpiryIndexes([docs]);
    expect(mode).toBe((await updatesAreAtomic(client.db())) ? 'ttl' : 'sweep');
    const names = (await docs.indexes()).map((i) => i.name);
    expect(names).toContain(mode === 'ttl' ? 'expire_ttl' : 'expire_at');
    // A second start on the same data finds its index in place.
    expect(await createExpiryIndexes([docs])).toBe(mode);
  });
});
