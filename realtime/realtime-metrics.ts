import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RealtimeMetrics = ReturnType<typeof createRealtimeMetrics>;

/** What uWS holds for sockets that haven't taken it yet: in all, and for the worst socket. */
export interface BufferedBytes {
  total: number;
  max: number;
}

export function createRealtimeMetrics(registry: Registry, measureBuffers: () => BufferedBytes) {
  return {
    buffered: new Gauge({
      name: 'signalboard_live_buffered_bytes',
      help: 'Bytes waiting in uWS for dashboards to read them, at scrape time: in all (scope="total") and for the socket with the most (scope="max")',
      labelNames: ['scope'] as const,
      registers: [registry],
      collect() {
        const { total, max } = measureBuffers();
        this.set({ scope: 'total' }, total);
        this.set({ scope: 'max' }, max);
      },
    }),
    connections: new Gauge({
      name: 'signalboard_live_connections',
      help: 'Open /v1/live WebSocket connections',
      registers: [registry],
    }),
    messages: new Counter({
      name: 'signalboard_live_messages_sent_total',
      help: 'Messages sent to dashboards (a topic publish counts once per subscriber), by channel and type',
      labelNames: ['channel', 'type'] as const,
      registers: [registry],
    }),
    snapshotBuilds: new Counter({
      name: 'signalboard_live_snapshot_builds_total',
      help: 'Snapshots built, by channel: subscribers of one project at one feed position and minute share one (compare with signalboard_live_messages_sent_total{type="snapshot"})',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    coalesced: new Counter({
      name: 'signalboard_live_coalesced_changes_total',
      help: 'Feed changes merged into another message of the same flush instead of sent alone',
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: 'signalboard_live_slow_consumers_total',
      help: 'Sockets past LIVE_SOFT_BUFFER_BYTES, by action: degraded (live messages stopped, one catch-up later) or closed (4408)',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: 'signalboard_live_refused_total',
      help: 'Connections, subscriptions or messages refused, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    delay: new Histogram({
      name: 'signalboard_live_delay_seconds',
      help: "From the oldest event's receivedAt in a delta to the gateway sending it",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}
