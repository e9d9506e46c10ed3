import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../core/redis.js';
import { testRedis } from '../test/helpers.js';
import { appendToFeed, feedKeys, readFeed, type DeltaEntry } from './feed.js';

describe('the live feed', () => {
  const redis = testRedis();
  const prefix = `tfeed${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  const delta = (names: number, batch: number): Omit<DeltaEntry, 'seq'> => ({
    type: 'delta', projectId: 'p', partition: 0, batch, receivedAt: 0, activeUsers: [], retention: [],
    counts: Array.from({ length: names }, (_, i) => ({ event: `name-${i}-${'x'.repeat(80)}`, bucket: '2026-12-07T17:00:00.000Z', increment: 1 })),
  });

  it('keeps its newest entries within a byte bound as well as a count: entries of many names cannot grow it without end', async () => {
    const budget = 200 * 1024;
    for (let batch = 1; batch <= 40; batch++) expect(await appendToFeed(redis, prefix, delta(300, batch), new Map(), Date.now(), budget)).toBe(batch);
    const keys = feedKeys(prefix, 'p');
    const kept = (await redis.xrange(keys.stream, '-', '+')) as Array<[string, string[]]>;
    const bytes = kept.reduce((n, [, fields]) => n + fields[1]!.length, 0);
    expect(bytes).toBeLessThanOrEqual(budget);
    expect(bytes).toBeGreaterThan(budget / 2);
    expect(Number(await redis.get(keys.bytes))).toBe(bytes);
    // The newest are what is kept, in order, and readers see a gap before them (a resume snapshots instead).
    const seqs = (await readFeed(redis, prefix, 'p', 0)).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 41 - seqs.length + i));
    // One entry larger than the whole bound still stays, alone.
    expect(await appendToFeed(redis, prefix, delta(3000, 41), new Map(), Date.now(), budget)).toBe(41);
    expect((await readFeed(redis, prefix, 'p', 0)).map((e) => e.seq)).toEqual([41]);
  });
});
