import { countsKey, STREAM_FORMAT_VERSION, streamKey } from '../model/event-stream.js';
import type { Redis } from '../core/redis.js';
import type { IngestMetrics } from './ingest-metrics.js';

export interface PartitionedEvent {
  partition: number;
  json: string;
}

interface Waiter {
  partitions: number[];
  resolve: (failed: ReadonlySet<number>) => void;
}

export interface WriterOptions {
  prefix: string;
  flushMs: number;
  flushEvents: number;
  /** Pending JSON (in characters, a lower bound of its bytes) that flushes at once: bounds a stream entry (INGEST_FLUSH_BYTES). */
  flushBytes: number;
}

/**
 * Batches events from concurrent requests and appends them to the partition streams:
 * one entry per partition per flush, flushed after flushMs or at flushEvents or flushBytes
 * (so an entry holds at most about flushBytes plus one request's events).
 * A write resolves, never rejects, once Redis has answered for every partition it
 * touched, with the partitions whose append failed (empty: all stored).
 */
export class EventStreamWriter {
  private pending = new Map<number, string[]>();
  private pendingCount = 0;
  private pendingChars = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly redis: Redis, private readonly options: WriterOptions, private readonly metrics: IngestMetrics) {}

  write(events: readonly PartitionedEvent[]): Promise<ReadonlySet<number>> {
    const partitions: number[] = [];
    for (const { partition, json } of events) {
      let list = this.pending.get(partition);
      if (list === undefined) {
        list = [];
        this.pending.set(partition, list);
      }
      if (!partitions.includes(partition)) partitions.push(partition);
      list.push(json);
      this.pendingChars += json.length;
    }
    this.pendingCount += events.length;
    const done = new Promise<ReadonlySet<number>>((resolve) => this.waiters.push({ partitions, resolve }));
    if (this.pendingCount >= this.options.flushEvents || this.pendingChars >= this.options.flushBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushMs);
    return done;
  }

  /** Writes what is pending now instead of at the next timer. */
  flushNow(): void {
    this.flush();
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingCount === 0) return;
    const batch = this.pending;
    const waiters = this.waiters;
    const count = this.pendingCount;
    this.pending = new Map();
    this.waiters = [];
    this.pendingCount = 0;
    this.pendingChars = 0;

    const stopTimer = this.metrics.flushDuration.startTimer();
    const failed = new Set<number>();
    const appends = [...batch].map(([partition, jsons]) =>
      this.redis
        .sbAppendEvents(streamKey(this.options.prefix, partition), countsKey(this.options.prefix, partition), STREAM_FORMAT_VERSION, jsons.length, `[${jsons.join(',')}]`)
        .then(
          () => undefined,
          () => void failed.add(partition),
        ),
    );
    void Promise.all(appends).then(() => {
      stopTimer();
      this.metrics.flushEvents.observe(count);
      for (const waiter of waiters) waiter.resolve(failed.size === 0 ? failed : new Set(waiter.partitions.filter((p) => failed.has(p))));
    });
  }
}
