import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type AggregatorMetrics = ReturnType<typeof createAggregatorMetrics>;

export function createAggregatorMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'signalboard_aggregator_events_total',
      help: 'Events read from the streams, by result: counted, duplicate (eventId seen before), late and unstorable (both dead-lettered)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    batchEvents: new Histogram({
      name: 'signalboard_aggregator_batch_events',
      help: 'Events per batch',
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 20000],
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'signalboard_aggregator_batch_duration_seconds',
      help: 'From reading a batch to its commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    foldDuration: new Histogram({
      name: 'signalboard_aggregator_fold_duration_seconds',
      help: 'A fold of the rollup deltas, from reading them to deleting them (its documents written a few after each write cycle)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    deltasFolded: new Counter({ name: 'signalboard_aggregator_deltas_folded_total', help: 'Rollup delta documents folded into the rollups', registers: [registry] }),
    deltaDelay: new Histogram({
      name: 'signalboard_aggregator_delta_delay_seconds',
      help: "From an event's receivedAt to the publication of the delta that counts it",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'signalboard_aggregator_lag_events',
      help: 'Events in a partition not yet committed, as of its last commit',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
    partitionsOwned: new Gauge({ name: 'signalboard_aggregator_partitions_owned', help: 'Partitions this worker holds a lease on', registers: [registry] }),
    partitionsStalled: new Gauge({
      name: 'signalboard_aggregator_partitions_stalled',
      help: 'Partitions whose batch the store refuses for what it holds: set aside (retried every minute) while the others go on',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'signalboard_aggregator_dead_letters_total',
      help: 'Events or entries written to the dead-letter stream, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    expiryMode: new Gauge({
      name: 'signalboard_expiry_mode',
      help: '1 for the active expiry mode: ttl (MongoDB TTL indexes) or sweep (periodic deletes, for servers without TTL)',
      labelNames: ['mode'] as const,
      registers: [registry],
    }),
    expired: new Counter({ name: 'signalboard_expired_documents_total', help: 'Documents deleted by the expiry sweep', registers: [registry] }),
    lastSweep: new Gauge({
      name: 'signalboard_expiry_last_sweep_seconds',
      help: 'When this worker last finished an expiry sweep (Unix seconds; 0 before its first): alert when the newest across workers is hours old',
      registers: [registry],
    }),
  };
}
