import { Counter, type Registry } from 'prom-client';

export type AlertsMetrics = ReturnType<typeof createAlertsMetrics>;

export function createAlertsMetrics(registry: Registry) {
  return {
    evaluations: new Counter({
      name: 'signalboard_alerts_evaluations_total',
      help: 'Alert rule evaluations (on each flush of the live feed and each second)',
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'signalboard_alerts_notifications_total',
      help: 'Alerts that fired or resolved',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'signalboard_alerts_webhook_attempts_total',
      help: 'Webhook delivery attempts, by outcome: delivered, retry (failed, will retry), dead (failed for the last time)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}
