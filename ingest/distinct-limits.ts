import type { Redis } from '../core/redis.js';
import { NO_VALUE, OBJECT_VALUE, breakdownValue } from '../model/breakdown-values.js';
import type { StampedEvent } from '../model/event-stream.js';
import { GRANULARITY_MS } from '../model/time-buckets.js';

export interface DistinctLimitOptions {
  prefix: string;
  /** Distinct event names a project may send per hour (INGEST_MAX_EVENT_NAMES_PER_HOUR; 0: no limit). */
  namesPerHour: number;
  /** Distinct values of one breakdown dimension a project may add per day (INGEST_MAX_DIMENSION_VALUES_PER_DAY; 0: no limit). */
  valuesPerDay: number;
  dimensions: readonly string[];
}

/** What the limits make of one event. */
export interface DistinctVerdict {
  /** Its name was new when the project already had its names for the hour: refused. */
  nameRefused: boolean;
  /** Dimensions whose value was new when the project already had its values for the day: counted as "(other)". */
  overflow: string[];
}

/** Values every event may have: never counted against a project's distinct values. */
const ALWAYS_ADMITTED = new Set([NO_VALUE, OBJECT_VALUE]);
/** Members remembered in this process before the memory starts again (each is checked in Redis again then). */
const MAX_REMEMBERED = 200_000;
const HOUR_MS = GRANULARITY_MS.hour;
const DAY_MS = GRANULARITY_MS.day;

/**
 * Bounds how many distinct event names and breakdown values a project adds, so that no
 * write key can make documents, snapshots and folds grow without bound (every distinct
 * name is three rollup documents per bucket; every distinct value a field in each of
 * its event's documents of that day). Shared by every ingest process through Redis: one
 * set per project and hour of receipt (names) or day of receipt and dimension (values),
 * each holding at most its cap, admitted by one script call per request. What this
 * process saw admitted it remembers, so a steady stream of known names costs no call.
 *
 * By receipt time, not event time: a backfill across a year cannot make a set per hour
 * of it. So a rollup document of a past day can gain up to the cap again on each later
 * day that late events with new values arrive for it.
 */
export class DistinctLimits {
  private readonly admitted = new Set<string>();

  constructor(private readonly redis: Redis, private readonly options: DistinctLimitOptions) {}

  get namesPerHour(): number {
    return this.options.namesPerHour;
  }

  async check(projectId: string, events: ReadonlyArray<Pick<StampedEvent, 'event' | 'context' | 'properties'>>, now: number): Promise<DistinctVerdict[]> {
    const { prefix, namesPerHour, valuesPerDay, dimensions } = this.options;
    const verdicts: DistinctVerdict[] = events.map(() => ({ nameRefused: false, overflow: [] }));
    // Per set: its cap and lifetime, and each value this process does not know to be in it, with the events that have it.
    const sets = new Map<string, { cap: number; ttlMs: number; dimension?: string; values: Map<string, number[]> }>();
    const ask = (key: string, cap: number, ttlMs: number, event: number, value: string, dimension?: string) => {
      if (this.admitted.has(`${key}\n${value}`)) return;
      let set = sets.get(key);
      if (set === undefined) sets.set(key, (set = { cap, ttlMs, ...(dimension === undefined ? {} : { dimension }), values: new Map() }));
      const having = set.values.get(value);
      if (having === undefined) set.values.set(value, [event]);
      else having.push(event);
    };
    const hour = Math.floor(now / HOUR_MS);
    const day = Math.floor(now / DAY_MS);
    // One hash tag per project: every set of a request in one Redis Cluster slot.
    const base = `${prefix}:distinct:{${projectId}}`;
    events.forEach((event, i) => {
      if (namesPerHour > 0) ask(`${base}:names:${hour}`, namesPerHour, 2 * HOUR_MS, i, event.event);
      if (valuesPerDay === 0) return;
      for (const dimension of dimensions) {
        const value = breakdownValue(event, dimension);
        if (!ALWAYS_ADMITTED.has(value)) ask(`${base}:values:${dimension}:${day}`, valuesPerDay, 2 * DAY_MS, i, value, dimension);
      }
    });
    if (sets.size === 0) return verdicts;

    const keys = [...sets.keys()];
    const args: Array<string | number> = [];
    for (const { cap, ttlMs, values } of sets.values()) args.push(cap, ttlMs, values.size, ...values.keys());
    const flags = await this.redis.sbAdmitDistinct(keys.length, ...keys, ...args);
    if (this.admitted.size > MAX_REMEMBERED) this.admitted.clear();
    let at = 0;
    for (const [key, { dimension, values }] of sets) {
      for (const [value, having] of values) {
        if (flags[at++] === 1) {
          this.admitted.add(`${key}\n${value}`);
          continue;
        }
        for (const event of having) {
          if (dimension === undefined) verdicts[event]!.nameRefused = true;
          else verdicts[event]!.overflow.push(dimension);
        }
      }
    }
    return verdicts;
  }
}
