import type { UserDoc } from '../model/collections.js';
import { userIds, type UserChange } from './batch-plan.js';
import { LruMap } from './lru-map.js';

/**
 * One partition's user documents as its holder last read or wrote them. While the
 * worker holds the lease it is the partition's only writer, so what it wrote is what
 * MongoDB holds, and a returning user costs no read (on FerretDB, reading a batch's
 * users was the largest part of planning it). A new lease holder starts empty.
 * Entries are dropped `maxAgeMs` after they were read (the expiry sweep deletes users
 * away for EXPIRY_USERS_DAYS, and a recompute rewrites users only while it holds every
 * lease) and beyond `maxEntries`, least recently used first.
 */
export class UserCache {
  private readonly entries: LruMap<string, { doc: UserDoc; readAt: number }>;

  constructor(maxEntries: number, private readonly maxAgeMs: number) {
    this.entries = new LruMap(maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached documents of `ids`, and the ids that must be read (not cached, or cached too long ago). */
  lookup(ids: readonly string[], now = Date.now()): { found: Map<string, UserDoc>; missing: string[] } {
    const found = new Map<string, UserDoc>();
    const missing: string[] = [];
    for (const id of ids) {
      const entry = this.entries.peek(id);
      if (entry === undefined || now - entry.readAt > this.maxAgeMs) {
        missing.push(id);
        continue;
      }
      this.entries.touch(id);
      found.set(id, entry.doc);
    }
    return { found, missing };
  }

  /** Documents just read for `lookup`'s missing ids (an id without a document is a new user: `record` adds it). */
  remember(docs: ReadonlyMap<string, UserDoc>, now = Date.now()): void {
    for (const [id, doc] of docs) this.entries.set(id, { doc, readAt: now });
  }

  /**
   * After a batch's user writes succeeded: the same changes, applied to the cached
   * documents. `read`: the documents the batch was planned with, for users no longer
   * cached (a batch touching more users than the cache holds pushes some out before it
   * ends); a user in neither is new.
   */
  record(changes: readonly UserChange[], read: ReadonlyMap<string, UserDoc>, now = Date.now()): void {
    for (const u of changes) {
      const cached = this.entries.peek(u.id);
      const doc: UserDoc = cached?.doc ?? read.get(u.id) ?? {
        _id: u.id,
        ...userIds(u),
        days: {},
        wm: {},
        expireAt: u.expireAt,
      };
      for (const day of u.newDays) doc.days[String(day)] ??= u.seq;
      if (doc.firstSeen === undefined || u.firstSeen < doc.firstSeen) doc.firstSeen = u.firstSeen;
      if (doc.lastSeen === undefined || u.lastSeen > doc.lastSeen) doc.lastSeen = u.lastSeen;
      if (u.expireAt > doc.expireAt) doc.expireAt = u.expireAt;
      this.entries.set(u.id, { doc, readAt: cached?.readAt ?? now });
    }
  }
}
