import { deltaChannel, deltaStreamKey, type StampedEvent } from '../core/event-stream.js';
import type { Redis } from '../core/redis.js';
import type { BatchPlan } from './batch-plan.js';

/**
 * KEYS[1] the project's delta sequence, KEYS[2] the project's delta stream.
 * ARGV[1] the pub/sub channel, ARGV[2] the delta as a JSON object without "seq", ARGV[3] stream length kept.
 * Numbers the delta, keeps it in the stream (for resuming clients) and publishes it. Returns the seq.
 */
const PUBLISH_LUA = `
local seq = redis.call('INCR', KEYS[1])
local message = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'd', message)
redis.call('PUBLISH', ARGV[1], message)
return seq`;

type PublishingRedis = Redis & { sbPublishDelta(seqKey: string, stream: string, channel: string, delta: string, keep: number): Promise<number> };

/** Deltas kept per project for clients that resume. */
export const DELTAS_KEPT = 10_000;

/**
 * After each batch, one delta per project: changed minute counts by event and changed
 * active-user figures, numbered per project. A replayed batch publishes its deltas
 * again with the same `partition` and `batch`, so consumers can drop repeats.
 */
export class DeltaPublisher {
  private readonly redis: PublishingRedis;

  constructor(redis: Redis, private readonly prefix: string) {
    redis.defineCommand('sbPublishDelta', { numberOfKeys: 2, lua: PUBLISH_LUA });
    this.redis = redis as PublishingRedis;
  }

  async publish(events: readonly StampedEvent[], plan: BatchPlan, partition: number, batch: number): Promise<void> {
    const byProject = new Map<string, { counts: unknown[]; activeUsers: unknown[]; receivedAt: number }>();
    const entry = (projectId: string) => {
      let e = byProject.get(projectId);
      if (e === undefined) {
        e = { counts: [], activeUsers: [], receivedAt: Infinity };
        byProject.set(projectId, e);
      }
      return e;
    };
    for (const event of events) entry(event.projectId).receivedAt = Math.min(entry(event.projectId).receivedAt, event.receivedAt);
    for (const c of plan.counts.minute) entry(c.projectId).counts.push({ event: c.event, bucket: c.bucket.toISOString(), increment: c.count });
    for (const a of plan.activity) entry(a.projectId).activeUsers.push({ date: a.day.toISOString().slice(0, 10), dau: a.dau, wau: a.wau, mau: a.mau });
    await Promise.all(
      [...byProject].map(([projectId, delta]) =>
        this.redis.sbPublishDelta(
          `${this.prefix}:deltaseq:{${projectId}}`,
          deltaStreamKey(this.prefix, projectId),
          deltaChannel(this.prefix),
          JSON.stringify({ type: 'delta', projectId, partition, batch, ...delta }),
          DELTAS_KEPT,
        ),
      ),
    );
  }
}
