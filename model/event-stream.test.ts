import { describe, expect, it } from 'vitest';
import { decodeEntry, partitionFor, streamKey, countsKey } from './event-stream.js';

describe('partitionFor', () => {
  // The partition of a user is stored-data contract: streams, leases and partition
  // states hold it, so a changed hash would split users across partitions after an
  // upgrade. FNV-1a (32-bit) over the UTF-16 code units of `projectId \0 distinctId`,
  // these values computed independently.
  it.each([
    ['p1', 'user-42', 16, 6],
    ['p1', 'user-43', 16, 9],
    ['p_abc', 'anon-9', 16, 12],
    ['p1', 'user-42', 64, 38],
    ['proj', 'ユーザー', 16, 10],
  ])('puts project %s user %s of %i partitions in partition %i, always', (projectId, user, partitions, expected) => {
    expect(partitionFor(projectId, user, partitions)).toBe(expected);
  });

  it('spreads users across all partitions roughly evenly', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionFor('p1', `user-${i}`, 16)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it('separates the same user id in different projects', () => {
    const differs = Array.from({ length: 50 }, (_, i) => partitionFor('a', `u${i}`, 64) !== partitionFor('b', `u${i}`, 64));
    expect(differs.filter(Boolean).length).toBeGreaterThan(40);
  });
});

describe('stream keys', () => {
  it('share one Redis Cluster hash tag per partition', () => {
    const tag = (key: string) => /\{([^}]+)\}/.exec(key)?.[1];
    expect(tag(streamKey('sb', 3))).toBe('p3');
    expect(tag(countsKey('sb', 3))).toBe(tag(streamKey('sb', 3)));
  });
});

describe('decodeEntry', () => {
  it('reads the events of an entry', () => {
    const events = [{ eventId: 'a' }, { eventId: 'b' }];
    expect(decodeEntry(['v', '1', 'n', '2', 'd', JSON.stringify(events)])).toEqual(events);
  });

  it.each([
    ['an unknown version', ['v', '9', 'n', '0', 'd', '[]'], /version 9/],
    ['a count that does not match', ['v', '1', 'n', '3', 'd', '[{}]'], /holds 1 events, header says 3/],
  ])('refuses %s', (_case, fields, message) => {
    expect(() => decodeEntry(fields)).toThrow(message);
  });
});
