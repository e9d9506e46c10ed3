import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { Config } from './config.js';
import { DeploymentBinding } from './deployment.js';
import { resolveAdminToken, type AdminCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { createMongo, type Mongo } from './mongo.js';
import { ProjectAccess } from './project-access.js';
import { ProjectStore } from './project-store.js';
import { createRedis, type Redis } from './redis.js';

/** Where time comes from: the system clock, or one a test moves (the alerts evaluator's minute windows). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** What every role of one process shares: settings, logs, metrics and the two storage clients. */
export interface Runtime {
  config: Config;
  logger: Logger;
  metrics: Registry;
  redis: Redis;
  mongo: Mongo;
  projects: ProjectStore;
  access: ProjectAccess;
  admin: AdminCredentials;
  /** Where Redis and MongoDB are, for roles that open connections of their own. */
  urls: StorageUrls;
  /** Which deployment the Redis namespace belongs to: writers wait for it (core/deployment.ts). */
  deployment: DeploymentBinding;
  /** The metrics of roles this process runs in worker threads, merged into /metrics. */
  threadMetrics: Array<() => Promise<MetricObjectWithValues<MetricValue<string>>[]>>;
  clock: Clock;
}

/** A started role; stop() drains what it holds and returns when it is safe to exit. */
export interface RoleHandle {
  stop(): Promise<void>;
}

export interface StorageUrls {
  redisUrl: string;
  mongoUrl: string;
}

/** `processMetrics`: false in a role thread (the main thread collects them). */
export async function createRuntime(config: Config, logger: Logger, urls: StorageUrls, processMetrics = true, clock: Clock = systemClock): Promise<Runtime> {
  const admin = await resolveAdminToken(config.ADMIN_TOKEN, config.DATA_DIR);
  const redis = createRedis(urls.redisUrl, 'main', { enableAutoPipelining: true, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const mongo = createMongo(urls.mongoUrl, 'signalboard', logger);
  const projects = new ProjectStore(mongo.db);
  projects.ensureIndexes().catch((err: unknown) => logger.warn({ err }, 'could not create the projects indexes yet'));
  return {
    config,
    logger,
    metrics: createMetricsRegistry(processMetrics),
    redis,
    mongo,
    projects,
    access: new ProjectAccess(projects, {
      adminToken: admin.token,
      cacheMs: config.KEY_CACHE_SECONDS * 1000,
      retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
      failuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
      trustProxy: config.TRUST_PROXY,
    }),
    admin,
    urls,
    deployment: new DeploymentBinding(redis, mongo.db, { prefix: config.REDIS_KEY_PREFIX, partitions: config.STREAM_PARTITIONS, ...urls }),
    threadMetrics: [],
    clock,
  };
}

export async function closeRuntime(rt: Runtime): Promise<void> {
  rt.redis.disconnect();
  await rt.mongo.close();
}
