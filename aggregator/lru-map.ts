/** A Map that holds at most `max` entries, dropping the least recently used (set or touched) first. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value, without making it recent. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** The value, made the most recently used. */
  touch(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) this.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    // Map keeps insertion order: re-inserting makes the key the newest.
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
