import { LruMap } from './lru-map.js';

/**
 * The client eventIds one partition's holder saw stored, with the batch that stored each
 * (`part:seq`), the newest `max` of them. Exact as far as it goes: an id is remembered
 * only once MongoDB holds it, and ids it has forgotten are checked by MongoDB's unique
 * `_id` as before. It spares the common retry (seconds after the original, same
 * partition) the store's slow duplicate path. A new lease holder starts empty.
 */
export class RecentEventIds {
  private readonly marks: LruMap<string, string>;

  constructor(max: number) {
    this.marks = new LruMap(max);
  }

  get(key: string): string | undefined {
    return this.marks.peek(key);
  }

  remember(key: string, mark: string): void {
    this.marks.set(key, mark);
  }
}
