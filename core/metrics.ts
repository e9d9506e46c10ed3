import { collectDefaultMetrics, Registry } from 'prom-client';

/** One registry per process; every role registers its metrics on it. Names carry their unit. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'signalboard_' });
  return registry;
}
