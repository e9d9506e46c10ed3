import { randomUUID } from 'node:crypto';
import type { Redis } from '../core/redis.js';

/**
 * Which of a project's raw-event days changed, for readers that keep something built
 * from them (the reports' day segments, reports/). The aggregator bumps a day's counter
 * after storing events of that day, and the `links` counter after storing an identity
 * link; a reader stamps what it built with the counters it read *before* reading the
 * events, and rebuilds when they moved. A bump between the two only costs one rebuild.
 *
 *   <prefix>:rawdays:{P}  hash: UTC day number → counter, `links` → counter, `epoch` →
 *                         a random value set once, so counters that restart after Redis
 *                         lost its data never match a stamp taken before
 */
export interface RawDayVersions {
  epoch: string;
  links: number;
  /** Day number → counter (0 when never bumped). */
  days: Map<number, number>;
}

function rawDaysKey(prefix: string, projectId: string): string {
  return `${prefix}:rawdays:{${projectId}}`;
}

/** Bumps the days of the stored events and the links counter of the projects given: one pipeline per project (one hash slot on Redis Cluster). */
export async function markRawDaysChanged(redis: Redis, prefix: string, days: ReadonlyMap<string, ReadonlySet<number>>, linked: ReadonlySet<string>): Promise<void> {
  await Promise.all(
    [...new Set([...days.keys(), ...linked])].map(async (projectId) => {
      const key = rawDaysKey(prefix, projectId);
      const pipeline = redis.pipeline().hsetnx(key, 'epoch', randomUUID());
      for (const day of days.get(projectId) ?? []) pipeline.hincrby(key, String(day), 1);
      if (linked.has(projectId)) pipeline.hincrby(key, 'links', 1);
      const failed = (await pipeline.exec())?.find(([err]) => err !== null);
      if (failed !== undefined) throw failed[0];
    }),
  );
}

/** A project's counters for these days, read before the events they stamp. */
export async function readRawDayVersions(redis: Redis, prefix: string, projectId: string, days: readonly number[]): Promise<RawDayVersions> {
  const key = rawDaysKey(prefix, projectId);
  // A project with no mark since Redis started gets its epoch here, so stamps taken now hold.
  await redis.hsetnx(key, 'epoch', randomUUID());
  const values = await redis.hmget(key, 'epoch', 'links', ...days.map(String));
  return { epoch: values[0]!, links: Number(values[1] ?? 0), days: new Map(days.map((day, i) => [day, Number(values[i + 2] ?? 0)])) };
}
