import { breakdownDimensions } from '../core/config.js';
import { redisReady } from '../core/redis.js';
import type { RoleHandle, Runtime } from '../core/runtime.js';
import { Aggregator } from './aggregator.js';
import { createAggregatorMetrics, type AggregatorMetrics } from './aggregator-metrics.js';
import { AnalyticsStore } from './analytics-store.js';
import type { PlanSettings } from './batch-plan.js';
import { DeadLetters } from './dead-letters.js';
import { DeltaPublisher } from './delta-publisher.js';
import { recompute, type RecomputeOptions, type RecomputeReport, type RecomputeRequest } from './recompute.js';
import { PartitionStates } from './partition-state.js';
import type { LoopDeps } from './rollup-loop.js';
import { StreamCommitter } from './stream-commit.js';

export function planSettings(config: Runtime['config']): PlanSettings {
  return {
    dimensions: breakdownDimensions(config),
    horizonDays: config.RETENTION_HORIZON_DAYS,
    expiryDays: {
      raw: config.EXPIRY_RAW_DAYS,
      users: config.EXPIRY_USERS_DAYS,
      minute: config.EXPIRY_MINUTE_DAYS,
      hour: config.EXPIRY_HOUR_DAYS,
      day: config.EXPIRY_DAY_DAYS,
    },
  };
}

function loopDeps(rt: Runtime, metrics: AggregatorMetrics, store: AnalyticsStore): LoopDeps {
  const { config, logger, redis } = rt;
  const prefix = config.REDIS_KEY_PREFIX;
  return {
    redis,
    prefix,
    store,
    states: new PartitionStates(rt.mongo.db),
    committer: new StreamCommitter(redis, prefix),
    publisher: new DeltaPublisher(redis, prefix),
    deadLetters: new DeadLetters(redis, prefix, metrics),
    metrics,
    logger,
    settings: planSettings(config),
    batchEntries: config.AGGREGATOR_BATCH_ENTRIES,
    batchEvents: config.AGGREGATOR_BATCH_EVENTS,
    batchBytes: config.AGGREGATOR_BATCH_BYTES,
    foldMs: config.AGGREGATOR_FOLD_MS,
    pollMs: config.AGGREGATOR_POLL_MS,
    userCacheEntries: config.AGGREGATOR_USER_CACHE_ENTRIES,
    recentEventIds: config.AGGREGATOR_RECENT_EVENT_IDS,
  };
}

/** The aggregator role: partition workers that roll the streams up into MongoDB. No HTTP routes of its own. */
export function startAggregator(rt: Runtime): RoleHandle {
  const { config, logger, redis } = rt;
  const metrics = createAggregatorMetrics(rt.metrics);
  const store = new AnalyticsStore(rt.mongo.db, logger);
  const aggregator = new Aggregator(
    redis,
    config.REDIS_KEY_PREFIX,
    { partitions: config.STREAM_PARTITIONS, leaseMs: config.AGGREGATOR_LEASE_MS, sweepMs: config.EXPIRY_SWEEP_SECONDS * 1000, drainTimeoutMs: config.AGGREGATOR_DRAIN_TIMEOUT_MS },
    loopDeps(rt, metrics, store),
    store,
    metrics,
    logger,
    rt.deployment,
  );
  aggregator.start();
  return { stop: () => aggregator.stop() };
}

/** `signalboard recompute`: rebuilds a project's figures for a range of days from its raw events. */
export async function runRecompute(rt: Runtime, request: RecomputeRequest, onProgress?: RecomputeOptions['onProgress']): Promise<RecomputeReport> {
  const { config, redis, logger } = rt;
  // Wait for Redis to connect; without an offline queue the first command would fail.
  for (let i = 0; i < 50 && !redisReady(redis); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  // It replays batches and commits them: only in this deployment's namespace.
  await rt.deployment.ensure();
  const metrics = createAggregatorMetrics(rt.metrics);
  const store = new AnalyticsStore(rt.mongo.db, logger);
  return recompute(loopDeps(rt, metrics, store), rt.mongo.db, { partitions: config.STREAM_PARTITIONS, leaseMs: config.AGGREGATOR_LEASE_MS, onProgress }, request);
}
