import type { Redis } from '../core/redis.js';
import type { AggregatorMetrics } from './aggregator-metrics.js';

/** Kept in the dead-letter stream (oldest dropped first). */
const DEAD_LETTERS_KEPT = 100_000;

export function deadLetterKey(prefix: string): string {
  return `${prefix}:deadletter`;
}

/** Events (or whole stream entries) that can never be counted, kept with the reason for inspection. */
export class DeadLetters {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly metrics: AggregatorMetrics) {}

  async add(reason: string, partition: number, entryId: string, payload: string): Promise<void> {
    this.metrics.deadLetters.inc({ reason });
    await this.redis.xadd(deadLetterKey(this.prefix), 'MAXLEN', '~', DEAD_LETTERS_KEPT, '*', 'reason', reason, 'partition', String(partition), 'entry', entryId, 'payload', payload);
  }
}
