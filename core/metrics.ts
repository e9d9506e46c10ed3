import { AggregatorRegistry, collectDefaultMetrics, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/**
 * One registry per process (and per role thread); every role registers its metrics on it.
 * Names carry their unit. The process's own metrics (CPU, memory, event loop) are
 * collected once, by the main thread's registry.
 */
export function createMetricsRegistry(processMetrics = true): Registry {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: 'signalboard_' });
  return registry;
}

/** The text of /metrics: this thread's registry, and those of the process's role threads. */
export async function metricsText(registry: Registry, threads: ReadonlyArray<() => Promise<MetricObjectWithValues<MetricValue<string>>[]>>): Promise<string> {
  if (threads.length === 0) return registry.metrics();
  const all = await Promise.all([registry.getMetricsAsJSON(), ...threads.map((read) => read())]);
  return AggregatorRegistry.aggregate(all).metrics();
}
