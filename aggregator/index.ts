import type { RoleHandle, Runtime } from '../core/runtime.js';
import { Aggregator } from './aggregator.js';
import { createAggregatorMetrics } from './aggregator-metrics.js';
import { AnalyticsStore } from './analytics-store.js';
import type { PlanSettings } from './batch-plan.js';
import { DeadLetters } from './dead-letters.js';
import { DeltaPublisher } from './delta-publisher.js';
import { PartitionStates } from './partition-state.js';
import { StreamCommitter } from './stream-commit.js';
import { WriteGate } from './write-gate.js';

export function planSettings(config: Runtime['config']): PlanSettings {
  return {
    dimensions: config.AGGREGATOR_DIMENSIONS === '' ? [] : config.AGGREGATOR_DIMENSIONS.split(','),
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

/** The aggregator role: partition workers that roll the streams up into MongoDB. No HTTP routes of its own. */
export function startAggregator(rt: Runtime): RoleHandle {
  const { config, logger, redis } = rt;
  const prefix = config.REDIS_KEY_PREFIX;
  const metrics = createAggregatorMetrics(rt.metrics);
  const store = new AnalyticsStore(rt.mongo.db, logger);
  const aggregator = new Aggregator(
    redis,
    prefix,
    { partitions: config.STREAM_PARTITIONS, leaseMs: config.AGGREGATOR_LEASE_MS, sweepMs: config.EXPIRY_SWEEP_SECONDS * 1000 },
    {
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
      pollMs: config.AGGREGATOR_POLL_MS,
      writeGate: new WriteGate(config.AGGREGATOR_WRITE_CONCURRENCY),
    },
    store,
    metrics,
    logger,
  );
  aggregator.start();
  return { stop: () => aggregator.stop() };
}
