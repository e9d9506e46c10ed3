import type { UserDoc } from '../core/collections.js';
import type { UserChange } from './batch-plan.js';
import { LruMap } from './lru-map.js';

/**
 * One partition's user documents as its runner last read or wrote them. While the
 * runner holds the lease it is the partition's only writer, so what it wrote is what
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

  /** The documents of `ids` that exist, reading the ones not cached with `read`. */
  async load(ids: readonly string[], read: (missing: string[]) => Promise<Map<string, UserDoc>>, now = Date.now()): Promise<Map<string, UserDoc>> {
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
    if (missing.length > 0) {
      for (const [id, doc] of await read(missing)) {
        found.set(id, doc);
        this.entries.set(id, { doc, readAt: now });
      }
    }
    return found;
  }

  /** After a batch's user writes succeeded: the same changes, applied to the cached documents. */
  record(changes: readonly UserChange[], seq: number, now = Date.now()): void {
    for (const u of changes) {
      const cached = this.entries.peek(u.id);
      const doc: UserDoc = cached?.doc ?? {
        _id: u.id,
        projectId: u.projectId,
        distinctId: u.distinctId,
        ...(u.userId === undefined ? {} : { userId: u.userId }),
        ...(u.anonymousId === undefined ? {} : { anonymousId: u.anonymousId }),
        days: {},
        wm: {},
        expireAt: u.expireAt,
      };
      for (const day of u.newDays) doc.days[String(day)] ??= seq;
      if (doc.firstSeen === undefined || u.firstSeen < doc.firstSeen) doc.firstSeen = u.firstSeen;
      if (doc.lastSeen === undefined || u.lastSeen > doc.lastSeen) doc.lastSeen = u.lastSeen;
      if (u.expireAt > doc.expireAt) doc.expireAt = u.expireAt;
      this.entries.set(u.id, { doc, readAt: cached?.readAt ?? now });
    }
  }
}
