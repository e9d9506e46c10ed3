import type { StampedEvent } from '../model/event-stream.js';
import { markRawDaysChanged } from '../live/raw-day-versions.js';
import { appendToFeed, type FeedActivity, type FeedCount, type FeedRetention } from '../live/feed.js';
import type { Redis } from '../core/redis.js';
import { formatDay, dayNumber } from '../model/time-buckets.js';
import { distinctIdOf, type BatchPlan } from './batch-plan.js';

interface ProjectDelta {
  counts: FeedCount[];
  activeUsers: FeedActivity[];
  retention: FeedRetention[];
  receivedAt: number;
  /** distinctId → their latest event in the batch (never later than its receipt): "active now". */
  active: Map<string, number>;
}

/**
 * After each batch, one delta per project into the live feed (live/feed.ts):
 * changed minute counts, active users and daily retention cells, all as increments.
 * A replayed batch carries the same (partition, batch) and is not appended again.
 */
export class DeltaPublisher {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** Tells the reports which raw-event days and identity links the cycle stored (live/raw-day-versions.ts). */
  async markStored(events: readonly StampedEvent[], linked: ReadonlySet<string>): Promise<void> {
    const days = new Map<string, Set<number>>();
    for (const event of events) {
      let set = days.get(event.projectId);
      if (set === undefined) days.set(event.projectId, (set = new Set()));
      set.add(dayNumber(event.timestamp));
    }
    await markRawDaysChanged(this.redis, this.prefix, days, linked);
  }

  async publish(events: readonly StampedEvent[], plan: BatchPlan, partition: number, batch: number): Promise<void> {
    const byProject = new Map<string, ProjectDelta>();
    const entry = (projectId: string) => {
      let e = byProject.get(projectId);
      if (e === undefined) {
        e = { counts: [], activeUsers: [], retention: [], receivedAt: Infinity, active: new Map() };
        byProject.set(projectId, e);
      }
      return e;
    };
    for (const event of events) {
      const e = entry(event.projectId);
      e.receivedAt = Math.min(e.receivedAt, event.receivedAt);
      const distinctId = distinctIdOf(event);
      const at = Math.min(event.timestamp, event.receivedAt);
      if (at > (e.active.get(distinctId) ?? -Infinity)) e.active.set(distinctId, at);
    }
    for (const c of plan.counts.minute) {
      const count: FeedCount = { event: c.event, bucket: c.bucket.toISOString(), increment: c.count };
      if (c.by.size > 0) count.by = Object.fromEntries(c.by);
      entry(c.projectId).counts.push(count);
    }
    for (const a of plan.activity) entry(a.projectId).activeUsers.push({ date: formatDay(dayNumber(a.day.getTime())), dau: a.dau, wau: a.wau, mau: a.mau });
    for (const r of plan.retentionDaily) {
      const cohort = formatDay(dayNumber(r.cohort.getTime()));
      for (const [offset, increment] of r.r) entry(r.projectId).retention.push({ cohort, offset, increment });
    }
    await Promise.all(
      [...byProject].map(([projectId, { active, ...delta }]) =>
        appendToFeed(this.redis, this.prefix, { type: 'delta', projectId, partition, batch, ...delta }, active),
      ),
    );
  }
}
