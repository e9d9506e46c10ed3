import type { RoleHandle, Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';
import { LiveGateway } from './gateway.js';
import { createRealtimeMetrics } from './realtime-metrics.js';

/** The realtime role: the /v1/live WebSocket gateway, fed by the live feed in Redis. */
export function startRealtime(rt: Runtime, app: TemplatedApp): RoleHandle {
  const gateway: LiveGateway = new LiveGateway({
    app,
    config: rt.config,
    logger: rt.logger,
    redis: rt.redis,
    redisUrl: rt.urls.redisUrl,
    db: rt.mongo.db,
    access: rt.access,
    metrics: createRealtimeMetrics(rt.metrics, () => gateway.bufferedBytes()),
  });
  const started = gateway.start().catch((err: unknown) => rt.logger.error({ err }, 'realtime gateway failed to start'));
  return {
    async stop() {
      await started;
      await gateway.stop();
    },
  };
}
