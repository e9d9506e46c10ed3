import { SignalboardError, StorageUnavailableError } from '../core/errors.js';
import { partitionFor } from '../core/event-stream.js';
import type { Project } from '../core/project-store.js';
import { redisReady, type Redis } from '../core/redis.js';
import type { ParsedEvents } from './body-parser.js';
import { peerIpFor, type EventLimits, type RequestMeta, type ValidationResult } from './event-validator.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { LagMonitor } from './lag-monitor.js';
import type { RateLimiter } from './rate-limiter.js';
import type { EventStreamWriter, PartitionedEvent } from './stream-writer.js';

export interface IngestResult {
  accepted: number;
  rejected: Array<{ index: number; errors: string[] }>;
}

/** What a transport knows of the request. */
export interface RequestOrigin {
  userAgent: string | undefined;
  remoteAddress: string;
}

export interface IngestDeps {
  redis: Redis;
  ipStorage: EventLimits['ipStorage'];
  validate: (raw: unknown, meta: RequestMeta) => ValidationResult;
  writer: EventStreamWriter;
  lag: LagMonitor;
  rateLimiter: RateLimiter;
  metrics: IngestMetrics;
  partitions: number;
  retryAfterSeconds: number;
}

/**
 * The steps every ingest transport (HTTP, WebSocket) shares: refuse early when
 * Redis is down or aggregators are behind, take the rate budget, validate each event
 * on its own, and resolve only once Redis holds every accepted event.
 */
export class IngestService {
  private draining = false;

  constructor(private readonly deps: IngestDeps) {}

  async ingest(project: Project, parsed: ParsedEvents, request: RequestOrigin): Promise<IngestResult> {
    const { deps } = this;
    try {
      this.refuseWhenUnable();
      await this.guardRedis(() => deps.rateLimiter.take(project.id, parsed.items.length));
    } catch (err) {
      if (err instanceof SignalboardError) deps.metrics.refusals.inc({ code: err.code });
      throw err;
    }

    const meta: RequestMeta = {
      projectId: project.id,
      receivedAt: Date.now(),
      userAgent: request.userAgent,
      peerIp: peerIpFor(request.remoteAddress, deps.ipStorage),
    };
    const accepted: PartitionedEvent[] = [];
    const rejected: IngestResult['rejected'] = [];
    parsed.items.forEach((item, index) => {
      const unreadable = parsed.unreadable.get(index);
      const result: ValidationResult = unreadable === undefined ? deps.validate(item, meta) : { ok: false, errors: [unreadable] };
      if (result.ok) accepted.push({ partition: partitionFor(project.id, result.distinctId, deps.partitions), json: result.json });
      else rejected.push({ index, errors: result.errors });
    });

    if (accepted.length > 0) {
      try {
        await deps.writer.write(accepted);
      } catch (err) {
        if (err instanceof SignalboardError) deps.metrics.refusals.inc({ code: err.code });
        throw err;
      }
    }
    deps.metrics.events.inc({ result: 'accepted' }, accepted.length);
    deps.metrics.events.inc({ result: 'rejected' }, rejected.length);
    return { accepted: accepted.length, rejected };
  }

  /** From now on every request is refused with SB_SHUTTING_DOWN; then waits for pending writes. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.deps.writer.drain();
  }

  private refuseWhenUnable(): void {
    const { retryAfterSeconds } = this.deps;
    if (this.draining) throw new SignalboardError('SB_SHUTTING_DOWN', 'this ingest process is shutting down', { retryAfterSeconds: 1 });
    if (!redisReady(this.deps.redis)) throw new StorageUnavailableError('Redis is unreachable; nothing was accepted', retryAfterSeconds);
    if (this.deps.lag.overloaded) {
      throw new SignalboardError(
        'SB_OVERLOADED',
        `aggregators are behind: a partition holds ${this.deps.lag.maxUnconsumed} unconsumed events (INGEST_MAX_LAG_EVENTS); nothing was accepted`,
        { retryAfterSeconds },
      );
    }
  }

  private async guardRedis(op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (err) {
      if (err instanceof SignalboardError) throw err;
      throw new StorageUnavailableError('Redis did not answer; nothing was accepted', this.deps.retryAfterSeconds, err);
    }
  }
}
