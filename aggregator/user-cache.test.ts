import { describe, expect, it } from 'vitest';
import type { UserDoc } from '../model/collections.js';
import type { UserChange } from './batch-plan.js';
import { UserCache } from './user-cache.js';

const doc = (id: string, days: Record<string, number>): UserDoc => ({ _id: id, projectId: 'p', distinctId: id, days, wm: {}, expireAt: new Date(1e12), firstSeen: new Date(100), lastSeen: new Date(200) });
const change = (id: string, newDays: number[], first: number, last: number): UserChange => ({ id, seq: 7, projectId: 'p', distinctId: id, newDays, firstSeen: new Date(first), lastSeen: new Date(last), expireAt: new Date(2e12) });

/** As the aggregator uses it: the cached documents, and one read for the rest. */
async function load(cache: UserCache, ids: string[], read: (missing: string[]) => Promise<Map<string, UserDoc>>, now: number): Promise<Map<string, UserDoc>> {
  const { found, missing } = cache.lookup(ids, now);
  if (missing.length === 0) return found;
  const docs = await read(missing);
  cache.remember(docs, now);
  return new Map([...found, ...docs]);
}

describe('UserCache', () => {
  it('reads only the users it does not hold, and returns only those that exist', async () => {
    const cache = new UserCache(10, 60_000);
    const reads: string[][] = [];
    const read = async (missing: string[]) => {
      reads.push(missing);
      return new Map(missing.filter((id) => id !== 'new').map((id) => [id, doc(id, { 10: 1 })]));
    };
    expect([...(await load(cache, ['a', 'b', 'new'], read, 0)).keys()]).toEqual(['a', 'b']);
    expect([...(await load(cache, ['a', 'b', 'new'], read, 1)).keys()].sort()).toEqual(['a', 'b']);
    expect(reads).toEqual([['a', 'b', 'new'], ['new']]);
  });

  it('applies a batch like the store does: a day keeps the batch that first recorded it, first and last seen widen', async () => {
    const cache = new UserCache(10, 60_000);
    await load(cache, ['a'], async () => new Map([['a', doc('a', { 10: 1 })]]), 0);
    cache.record([change('a', [10, 11], 50, 300), change('new', [11], 400, 500)], new Map(), 0);
    const held = await load(cache, ['a', 'new'], async () => new Map(), 1);
    expect(held.get('a')).toMatchObject({ days: { 10: 1, 11: 7 }, firstSeen: new Date(50), lastSeen: new Date(300), expireAt: new Date(2e12) });
    expect(held.get('new')).toMatchObject({ _id: 'new', days: { 11: 7 }, firstSeen: new Date(400), lastSeen: new Date(500) });
  });

  it('records a user pushed out of the cache during the batch from the document the batch read, not as new', async () => {
    const cache = new UserCache(2, 60_000);
    const stored = new Map([['b', doc('b', { 100: 1 })]]);
    const users = await load(cache, ['b', 'c', 'd'], async (missing) => new Map(missing.filter((id) => stored.has(id)).map((id) => [id, stored.get(id)!])), 0);
    // Three users, room for two: b's document was read for the batch, then pushed out by c and d.
    cache.record([change('c', [105], 50, 300), change('d', [105], 50, 300), change('b', [105], 50, 300)], users, 0);
    const held = await load(cache, ['b'], async () => new Map(), 1);
    expect(held.get('b')?.days).toEqual({ 100: 1, 105: 7 });
  });

  it('reads a user again after maxAgeMs, and holds at most maxEntries, dropping the least recently used', async () => {
    const cache = new UserCache(2, 1000);
    const reads: string[] = [];
    const read = async (missing: string[]) => {
      reads.push(...missing);
      return new Map(missing.map((id) => [id, doc(id, {})]));
    };
    await load(cache, ['a', 'b'], read, 0);
    await load(cache, ['a'], read, 10); // a is now the most recently used
    await load(cache, ['c'], read, 20); // b goes
    expect(cache.size).toBe(2);
    await load(cache, ['a', 'b', 'c'], read, 30);
    await load(cache, ['c'], read, 2000);
    expect(reads).toEqual(['a', 'b', 'c', 'b', 'c']);
  });
});
