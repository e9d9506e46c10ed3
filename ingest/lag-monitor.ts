import { allPartitions, unconsumedEvents } from '../model/event-stream.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import type { IngestMetrics } from './ingest-metrics.js';

/**
 * Polls each partition's `added - consumed` counters. Ingest refuses new events while
 * any partition holds more than the bound, so Redis memory stays bounded and no stream
 * is ever trimmed past what the aggregator has not committed.
 */
export class LagMonitor {
  private unconsumed: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; partitions: number; maxLagEvents: number; intervalMs: number },
    private readonly metrics: IngestMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const tick = () => {
      this.poll().catch((err: unknown) => this.logger.debug({ err }, 'lag poll failed'));
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The most unconsumed events in one partition, as of the last poll. */
  get maxUnconsumed(): number {
    return this.unconsumed.reduce((max, n) => Math.max(max, n), 0);
  }

  get overloaded(): boolean {
    return this.maxUnconsumed > this.options.maxLagEvents;
  }

  async poll(): Promise<void> {
    const next = await unconsumedEvents(this.redis, this.options.prefix, allPartitions(this.options.partitions));
    next.forEach((lag, p) => this.metrics.unconsumed.set({ partition: String(p) }, lag));
    this.unconsumed = next;
  }
}
