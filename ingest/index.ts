import type { RoleHandle, Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';
import { breakdownDimensions } from '../core/config.js';
import { DistinctLimits } from './distinct-limits.js';
import { createEventValidator } from './event-validator.js';
import { registerHttpIngest } from './http-ingest.js';
import { registerSegmentIngest } from './segment-ingest.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { IngestService } from './ingest-service.js';
import { LagMonitor } from './lag-monitor.js';
import { RateLimiter } from './rate-limiter.js';
import { EventStreamWriter } from './stream-writer.js';
import { registerWsIngest } from './ws-ingest.js';
import { ensureStreams } from './stream-setup.js';

/** The ingest role: POST /v1/events, Segment's HTTP API (/v1/batch, /v1/track, ...) and WebSocket /v1/ingest, writing to the partition streams. */
export function startIngest(rt: Runtime, app: TemplatedApp): RoleHandle {
  const { config, logger, redis } = rt;
  const metrics = createIngestMetrics(rt.metrics);
  const prefix = config.REDIS_KEY_PREFIX;
  const partitions = config.STREAM_PARTITIONS;

  const lag = new LagMonitor(redis, { prefix, partitions, maxLagEvents: config.INGEST_MAX_LAG_EVENTS, intervalMs: config.INGEST_LAG_CHECK_MS }, metrics, logger);
  const service = new IngestService({
    redis,
    ipStorage: config.INGEST_IP_STORAGE,
    validate: createEventValidator({
      maxEventNameLength: config.INGEST_MAX_EVENT_NAME_LENGTH,
      maxEventBytes: config.INGEST_MAX_EVENT_BYTES,
      maxProperties: config.INGEST_MAX_PROPERTIES,
      maxPropertyDepth: config.INGEST_MAX_PROPERTY_DEPTH,
      maxEventAgeDays: config.INGEST_MAX_EVENT_AGE_DAYS,
      maxFutureSeconds: config.INGEST_MAX_FUTURE_SECONDS,
      ipStorage: config.INGEST_IP_STORAGE,
    }),
    writer: new EventStreamWriter(redis, { prefix, flushMs: config.INGEST_FLUSH_MS, flushEvents: config.INGEST_FLUSH_EVENTS, flushBytes: config.INGEST_FLUSH_BYTES }, metrics),
    lag,
    rateLimiter: new RateLimiter(redis, { prefix, limit: config.RATE_LIMIT_EVENTS, windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS }),
    distinct: new DistinctLimits(redis, {
      prefix,
      namesPerHour: config.INGEST_MAX_EVENT_NAMES_PER_HOUR,
      valuesPerDay: config.INGEST_MAX_DIMENSION_VALUES_PER_DAY,
      dimensions: breakdownDimensions(config),
    }),
    metrics,
    logger,
    partitions,
    retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
    deployment: rt.deployment,
  });

  const transport = {
    app,
    logger,
    access: rt.access,
    service,
    metrics,
    maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
    maxEventsPerRequest: config.INGEST_MAX_EVENTS_PER_REQUEST,
    trustProxy: config.TRUST_PROXY,
  };
  registerHttpIngest(transport);
  registerSegmentIngest(transport);
  registerWsIngest(transport);

  // Every (re)connection re-creates the streams and the aggregator's group: after a Redis
  // restart without persistence they are gone, and the group must exist before trimming can.
  const setup = () => {
    ensureStreams(redis, prefix, partitions).catch((err: unknown) => logger.warn({ err }, 'could not create the event streams yet'));
  };
  redis.on('ready', setup);
  if (redis.status === 'ready') setup();
  lag.start();

  return {
    async stop() {
      redis.off('ready', setup);
      lag.stop();
      await service.drain();
    },
  };
}
