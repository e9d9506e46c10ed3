import type { RoleHandle, Runtime } from '../core/runtime.js';
import { DestinationPolicy } from '../core/webhook-destination.js';
import { createAlertsMetrics } from './alerts-metrics.js';
import { AlertEvaluator } from './evaluator.js';
import { WebhookDeliveries } from './webhook-deliveries.js';

/** The alerts role: evaluates alert rules on the live feed and delivers their webhooks. No routes of its own. */
export function startAlerts(rt: Runtime): RoleHandle {
  const { config, logger } = rt;
  const metrics = createAlertsMetrics(rt.metrics);
  const deliveries = new WebhookDeliveries(
    rt.mongo.db,
    { maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, baseDelayMs: config.WEBHOOK_RETRY_BASE_MS, maxDelayMs: config.WEBHOOK_RETRY_MAX_MS, timeoutMs: config.WEBHOOK_TIMEOUT_MS, pollMs: 1000, destinations: DestinationPolicy.parse(config.WEBHOOK_ALLOWED_DESTINATIONS) },
    logger,
    (outcome) => metrics.webhooks.inc({ outcome }),
  );
  const evaluator = new AlertEvaluator({
    db: rt.mongo.db,
    redis: rt.redis,
    redisUrl: rt.urls.redisUrl,
    prefix: config.REDIS_KEY_PREFIX,
    flushMs: config.LIVE_FLUSH_MS,
    settleTimeoutMs: config.LIVE_SETTLE_TIMEOUT_MS,
    leaseMs: config.ALERTS_LEASE_MS,
    rulesRefreshMs: config.ALERTS_RULES_REFRESH_MS,
    historyDays: config.ALERTS_HISTORY_DAYS,
    logger,
    deliveries,
    metrics,
    clock: rt.clock,
  });
  // Servers without TTL indexes (FerretDB 1.x): deliveries and history are swept.
  let sweeper: NodeJS.Timeout | undefined;
  deliveries.ensureIndexes().then(
    (expiry) => {
      if (expiry === 'sweep') sweeper = setInterval(() => void Promise.all([deliveries.sweepExpired(), evaluator.sweepExpired()]).catch((err: unknown) => logger.warn({ err }, 'alerts: expiry sweep failed')), config.EXPIRY_SWEEP_SECONDS * 1000);
    },
    (err: unknown) => logger.warn({ err }, 'alerts: could not create the delivery indexes yet'),
  );
  deliveries.start();
  const started = evaluator.start().catch((err: unknown) => logger.error({ err }, 'alerts: evaluator failed to start'));
  return {
    async stop() {
      clearInterval(sweeper);
      await started;
      await evaluator.stop();
      await deliveries.stop();
    },
  };
}
