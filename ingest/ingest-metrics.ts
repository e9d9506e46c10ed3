import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'signalboard_ingest_events_total',
      help: 'Events received, by outcome (accepted, rejected by validation)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    distinct: new Counter({
      name: 'signalboard_ingest_distinct_limited_total',
      help: 'Events a project\'s distinct-value limits acted on: name_refused (a new event name past INGEST_MAX_EVENT_NAMES_PER_HOUR), value_other (a new breakdown value past INGEST_MAX_DIMENSION_VALUES_PER_DAY, counted as "(other)")',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'signalboard_ingest_refused_requests_total',
      help: 'Requests or WebSocket batches refused as a whole, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'signalboard_ingest_request_duration_seconds',
      help: 'From request received to answer, for accepted requests',
      labelNames: ['transport'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    flushDuration: new Histogram({
      name: 'signalboard_ingest_flush_duration_seconds',
      help: 'Time for one flush of batched events to the Redis streams',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    flushEvents: new Histogram({
      name: 'signalboard_ingest_flush_events',
      help: 'Events written per flush',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    unconsumed: new Gauge({
      name: 'signalboard_stream_unconsumed_events',
      help: 'Events in a partition stream not yet committed by the aggregator',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
  };
}
