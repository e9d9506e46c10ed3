import { decodeEntry, entryEventCount, streamKey, unconsumedEvents, type StampedEvent } from '../core/event-stream.js';
import { failpoint } from '../core/failpoints.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import { GRANULARITY_MS } from '../core/time-buckets.js';
import type { AggregatorMetrics } from './aggregator-metrics.js';
import type { AnalyticsStore } from './analytics-store.js';
import { planBatch, userDocId, distinctIdOf, type PlanSettings } from './batch-plan.js';
import type { DeadLetters } from './dead-letters.js';
import type { DeltaPublisher } from './delta-publisher.js';
import type { Lease } from './partition-lease.js';
import { LeaseLostError, type InflightBatch, type PartitionState, type PartitionStates } from './partition-state.js';
import type { StreamCommitter } from './stream-commit.js';
import { RecentEventIds } from './recent-event-ids.js';
import { UserCache } from './user-cache.js';
import type { WriteGate } from './write-gate.js';

export interface RunnerDeps {
  redis: Redis;
  prefix: string;
  store: AnalyticsStore;
  states: PartitionStates;
  committer: StreamCommitter;
  publisher: DeltaPublisher;
  deadLetters: DeadLetters;
  metrics: AggregatorMetrics;
  logger: Logger;
  settings: PlanSettings;
  batchEntries: number;
  pollMs: number;
  writeGate: WriteGate;
  /** Users kept in memory per partition (AGGREGATOR_USER_CACHE_ENTRIES). */
  userCacheEntries: number;
  /** Client eventIds remembered per partition with the batch that stored them (AGGREGATOR_RECENT_EVENT_IDS). */
  recentEventIds: number;
}

type Entry = [id: string, fields: string[]];

const MAX_BACKOFF_MS = 5000;
/** A cached user is read again after this long (see UserCache). */
const USER_CACHE_MAX_AGE_MS = 10 * 60_000;

/** The wall-clock time a stream entry id was written at. */
function entryTime(id: string): number {
  return Number(id.split('-')[0]);
}

/**
 * Works one partition under its lease: read a batch, record it as in flight, apply it
 * to MongoDB, publish its deltas, commit. After a crash anywhere, the next holder finds
 * the in-flight batch and replays exactly its entries; every write is idempotent per
 * (partition, batch), so each event counts once.
 */
export class PartitionRunner {
  private stopping = false;
  private ended = false;
  private finished: Promise<void> = Promise.resolve();
  private readonly stream: string;
  private readonly users: UserCache;
  private readonly recentIds: RecentEventIds;

  constructor(private readonly deps: RunnerDeps, readonly lease: Lease) {
    this.stream = streamKey(deps.prefix, lease.partition);
    this.users = new UserCache(deps.userCacheEntries, USER_CACHE_MAX_AGE_MS);
    this.recentIds = new RecentEventIds(deps.recentEventIds);
  }

  start(): void {
    this.finished = this.run()
      .catch((err: unknown) => this.deps.logger.error({ err, partition: this.lease.partition }, 'partition runner failed'))
      .finally(() => (this.ended = true));
  }

  /** True once the runner has stopped working its partition, asked to or not. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Finishes the batch under way, then stops. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.finished;
  }

  private async run(): Promise<void> {
    const { deps, lease } = this;
    let state: PartitionState | undefined;
    let backoff = 100;
    while (!this.stopping) {
      try {
        // Claimed inside the retry loop: a runner that died on a refused connection here
        // kept its lease renewed and its partition stalled (the restart test caught it).
        state ??= await this.claim();
        const next = state.inflight ?? (await this.begin(state));
        if (next === undefined) {
          await sleep(deps.pollMs);
          continue;
        }
        state = await this.complete(state, next);
        backoff = 100;
      } catch (err) {
        if (err instanceof LeaseLostError) {
          deps.logger.warn({ partition: lease.partition }, err.message);
          return;
        }
        deps.logger.warn({ err: (err as Error).message, partition: lease.partition, retryInMs: backoff }, 'batch failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /**
   * For a recompute: takes the partition over and finishes the batch a dead holder left
   * in flight, so every raw event is in the rollups. Returns the settled state.
   */
  async settle(): Promise<PartitionState> {
    const state = await this.claim();
    return state.inflight === null ? state : this.complete(state, state.inflight);
  }

  /** Takes the partition's state with this lease's fencing token; LeaseLostError when a newer lease holds it. */
  private async claim(): Promise<PartitionState> {
    const { deps, lease } = this;
    const claimed = await deps.states.claim(lease.partition, lease.fence);
    if (claimed === undefined) throw new LeaseLostError(lease.partition);
    // Heal a commit that reached MongoDB but not Redis before the last holder died.
    await deps.committer.commit(lease.partition, claimed.committed, claimed.consumed).catch(() => undefined);
    return claimed;
  }

  /** Reads the next entries and records them as the batch in flight; undefined when there are none. */
  private async begin(state: PartitionState): Promise<InflightBatch | undefined> {
    const { deps, lease } = this;
    const entries = (await deps.redis.xrange(this.stream, `(${state.committed}`, '+', 'COUNT', deps.batchEntries)) as Entry[];
    if (entries.length === 0) return undefined;
    const events = entries.reduce((n, [, fields]) => n + entryEventCount(fields), 0);
    const batch = { seq: state.seq + 1, from: state.committed, to: entries[entries.length - 1]![0], events };
    await deps.states.begin(lease.partition, lease.fence, batch);
    state.inflight = batch;
    return batch;
  }

  /** Applies the batch in flight (exactly its entries, also on a replay), commits it, and returns the new state. */
  private async complete(state: PartitionState, batch: InflightBatch): Promise<PartitionState> {
    const { deps, lease } = this;
    const { partition, fence } = lease;
    const stopTimer = deps.metrics.batchDuration.startTimer();
    const entries = (await deps.redis.xrange(this.stream, `(${batch.from}`, batch.to)) as Entry[];
    await this.process(entries, batch);
    failpoint('before-commit');
    const consumed = await deps.states.commit(partition, fence, batch, state.consumed);
    failpoint('after-commit');
    stopTimer();
    const next: PartitionState = { ...state, committed: batch.to, seq: batch.seq, consumed, inflight: null };
    await deps.committer.commit(partition, next.committed, consumed).catch((err: unknown) => deps.logger.warn({ err, partition }, 'redis commit failed; the next commit heals it'));
    const [lag] = await unconsumedEvents(deps.redis, deps.prefix, [partition]).catch(() => [0]);
    deps.metrics.lag.set({ partition: String(partition) }, lag ?? 0);
    return next;
  }

  private async process(entries: Entry[], batch: InflightBatch): Promise<void> {
    const { deps, lease } = this;
    // Lateness is judged against when the batch was written, not now, so a replay decides the same.
    const oldest = entryTime(batch.to) - deps.settings.expiryDays.raw * GRANULARITY_MS.day;
    const seen = new Set<string>();
    const events: StampedEvent[] = [];
    for (const [id, fields] of entries) {
      let decoded: StampedEvent[];
      try {
        decoded = decodeEntry(fields);
      } catch (err) {
        await deps.deadLetters.add('undecodable stream entry', lease.partition, id, JSON.stringify({ error: (err as Error).message, fields }));
        continue;
      }
      for (const event of decoded) {
        const key = `${event.projectId}|${event.eventId}`;
        if (seen.has(key)) {
          deps.metrics.events.inc({ result: 'duplicate' });
          continue;
        }
        seen.add(key);
        if (event.timestamp < oldest) {
          deps.metrics.events.inc({ result: 'late' });
          await deps.deadLetters.add('older than the raw-event retention (EXPIRY_RAW_DAYS)', lease.partition, id, JSON.stringify(event));
          continue;
        }
        events.push(event);
      }
    }
    const { fresh, plan, timings } = await deps.writeGate.run(async () => {
      const t0 = Date.now();
      const fresh = await deps.store.insertEvents(events, lease.partition, batch.seq, deps.settings.expiryDays.raw, this.recentIds);
      failpoint('after-insert');
      if (fresh.length === 0) return { fresh, plan: undefined, timings: {} };
      const t1 = Date.now();
      const ids = [...new Set(fresh.map((e) => userDocId(e.projectId, distinctIdOf(e))))];
      const users = await this.users.load(ids, (missing) => deps.store.loadUsers(missing));
      const plan = planBatch(fresh, users, lease.partition, batch.seq, deps.settings, entryTime(batch.to));
      const t2 = Date.now();
      await deps.store.apply(plan, lease.partition, batch.seq, () => failpoint('mid-apply'));
      this.users.record(plan.users, batch.seq);
      return { fresh, plan, timings: { insertMs: t1 - t0, planMs: t2 - t1, applyMs: Date.now() - t2 } };
    });
    deps.metrics.events.inc({ result: 'duplicate' }, events.length - fresh.length);
    deps.metrics.events.inc({ result: 'counted' }, fresh.length);
    deps.metrics.batchEvents.observe(fresh.length);
    if (plan === undefined) return;
    await deps.publisher.publish(fresh, plan, lease.partition, batch.seq);
    deps.logger.debug({ partition: lease.partition, batch: batch.seq, events: fresh.length, ...timings }, 'batch applied');
    const now = Date.now();
    for (const event of fresh) deps.metrics.deltaDelay.observe((now - event.receivedAt) / 1000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
