import type { Redis } from '../core/redis.js';
import type { AggregatorMetrics } from './aggregator-metrics.js';

/** Kept in the dead-letter stream (oldest dropped first). */
const DEAD_LETTERS_KEPT = 100_000;

export function deadLetterKey(prefix: string): string {
  return `${prefix}:deadletter`;
}

/** One dead letter as `signalboard dead-letters` lists it. */
export interface DeadLetter {
  id: string;
  /** When it was dead-lettered (ISO). */
  at: string;
  reason: string;
  partition: number;
  /** The stream entry (or partition:batch) it came from. */
  entry: string;
  /** The event, entry or rollup change, as JSON (EJSON for rollup changes). */
  payload: string;
}

/** The newest `limit` dead letters, newest first. */
export async function readDeadLetters(redis: Redis, prefix: string, limit: number): Promise<DeadLetter[]> {
  const entries = (await redis.xrevrange(deadLetterKey(prefix), '+', '-', 'COUNT', limit)) as Array<[string, string[]]>;
  return entries.map(([id, fields]) => {
    const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
    return { id, at: new Date(Number(id.split('-')[0])).toISOString(), reason: field('reason'), partition: Number(field('partition')), entry: field('entry'), payload: field('payload') };
  });
}

/** Events (or whole stream entries) that can never be counted, kept with the reason for inspection. */
export class DeadLetters {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly metrics: AggregatorMetrics) {}

  async add(reason: string, partition: number, entryId: string, payload: string): Promise<void> {
    this.metrics.deadLetters.inc({ reason });
    await this.redis.xadd(deadLetterKey(this.prefix), 'MAXLEN', '~', DEAD_LETTERS_KEPT, '*', 'reason', reason, 'partition', String(partition), 'entry', entryId, 'payload', payload);
  }
}
