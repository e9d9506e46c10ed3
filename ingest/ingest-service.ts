import { SignalboardError, StorageUnavailableError } from '../core/errors.js';
import { partitionFor, type StampedEvent } from '../model/event-stream.js';
import type { DeploymentBinding } from '../core/deployment.js';
import type { Project } from '../core/project-store.js';
import { redisReady, type Redis } from '../core/redis.js';
import type { ParsedEvents } from './body-parser.js';
import { peerIpFor, type EventLimits, type RequestMeta, type ValidationResult } from './event-validator.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { Logger } from '../core/logger.js';
import type { LagMonitor } from './lag-monitor.js';
import type { DistinctLimits } from './distinct-limits.js';
import type { RateLimiter } from './rate-limiter.js';
import type { EventStreamWriter, PartitionedEvent } from './stream-writer.js';

export interface Rejection {
  index: number;
  errors: string[];
  /** Present and true when the event was valid but could not be stored: resend it with the same eventId. */
  retriable?: true;
}

export interface IngestResult {
  accepted: number;
  rejected: Rejection[];
  /** Present when some accepted events repeat an eventId given earlier in the same request: they count once. */
  duplicates?: number;
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
  distinct: DistinctLimits;
  metrics: IngestMetrics;
  logger: Logger;
  partitions: number;
  retryAfterSeconds: number;
  deployment: DeploymentBinding;
}

const DRAIN_TIMEOUT_MS = 10_000;

/**
 * The steps every ingest transport (HTTP, WebSocket) shares: refuse early when
 * Redis is down or aggregators are behind, take the rate budget, validate each event
 * on its own, and resolve only once Redis holds every accepted event.
 */
export class IngestService {
  private draining = false;
  private inFlight = 0;

  constructor(private readonly deps: IngestDeps) {}

  async ingest(project: Project, parsed: ParsedEvents, request: RequestOrigin): Promise<IngestResult> {
    this.inFlight++;
    try {
      return await this.ingestCounted(project, parsed, request);
    } catch (err) {
      if (err instanceof SignalboardError) this.deps.metrics.refusals.inc({ code: err.code });
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  private async ingestCounted(project: Project, parsed: ParsedEvents, request: RequestOrigin): Promise<IngestResult> {
    const { deps } = this;
    this.refuseWhenUnable();
    await this.guardRedis(() => deps.rateLimiter.take(project.id, parsed.items.length));

    const meta: RequestMeta = {
      projectId: project.id,
      receivedAt: Date.now(),
      userAgent: request.userAgent,
      peerIp: peerIpFor(request.remoteAddress, deps.ipStorage),
    };
    let valid: Array<PartitionedEvent & { index: number; event: StampedEvent; clientEventId?: string }> = [];
    const rejected: Rejection[] = [];
    parsed.items.forEach((item, index) => {
      const result = this.validateOne(item, index, parsed, meta);
      if (!result.ok) rejected.push({ index, errors: result.errors });
      else valid.push({ index, partition: partitionFor(project.id, result.distinctId, deps.partitions), json: result.json, event: result.event, clientEventId: result.clientEventId });
    });
    if (valid.length > 0) valid = await this.withinDistinctLimits(project.id, valid, rejected, meta.receivedAt);
    // Accepted all the same (deduplication drops the repeats), but reported.
    const eventIds = new Set<string>();
    let duplicates = 0;
    for (const { clientEventId } of valid) {
      if (clientEventId === undefined) continue;
      if (eventIds.has(clientEventId)) duplicates++;
      else eventIds.add(clientEventId);
    }

    let accepted = valid.length;
    if (valid.length > 0) {
      await this.deploymentChecked();
      const failed = await deps.writer.write(valid);
      if (failed.size > 0) {
        const lost = valid.filter((e) => failed.has(e.partition));
        if (lost.length === valid.length) throw new StorageUnavailableError('Redis did not take the events; nothing was accepted', deps.retryAfterSeconds);
        // Other partitions did store theirs: report exactly which events to resend.
        for (const { index } of lost) rejected.push({ index, errors: ['not stored: Redis did not answer for this event\'s partition; resend it with the same eventId'], retriable: true });
        accepted -= lost.length;
      }
    }
    rejected.sort((a, b) => a.index - b.index);
    deps.metrics.events.inc({ result: 'accepted' }, accepted);
    deps.metrics.events.inc({ result: 'rejected' }, rejected.length);
    return duplicates === 0 ? { accepted, rejected } : { accepted, rejected, duplicates };
  }

  /**
   * The project's distinct-name and distinct-value limits (distinct-limits.ts): an event
   * with a name past the hour's limit is refused; a breakdown value past the day's limit
   * is recorded on the event as counted under "(other)". Returns the events kept.
   */
  private async withinDistinctLimits<E extends { index: number; event: StampedEvent; json: string }>(projectId: string, events: E[], rejected: Rejection[], now: number): Promise<E[]> {
    const { deps } = this;
    const verdicts = await this.guardRedis(() => deps.distinct.check(projectId, events.map((e) => e.event), now));
    if (verdicts.every((v) => !v.nameRefused && v.overflow.length === 0)) return events;
    const kept: E[] = [];
    events.forEach((e, i) => {
      const { nameRefused, overflow } = verdicts[i]!;
      if (nameRefused) {
        deps.metrics.distinct.inc({ kind: 'name_refused' });
        const limit = deps.distinct.namesPerHour;
        rejected.push({ index: e.index, errors: [`event: the project already sent ${limit} distinct event names this hour, and this name is not one of them (INGEST_MAX_EVENT_NAMES_PER_HOUR); known names are still accepted, new ones again from the next hour`] });
        return;
      }
      if (overflow.length > 0) {
        deps.metrics.distinct.inc({ kind: 'value_other' }, overflow.length);
        e.event.overflow = overflow;
        e.json = JSON.stringify(e.event);
      }
      kept.push(e);
    });
    return kept;
  }

  /** One event's validation; a failure of the validator itself rejects that event alone. */
  private validateOne(item: unknown, index: number, parsed: ParsedEvents, meta: RequestMeta): ValidationResult {
    const unreadable = parsed.unreadable.get(index);
    if (unreadable !== undefined) return { ok: false, errors: [unreadable] };
    try {
      return this.deps.validate(item, meta);
    } catch (err) {
      this.deps.logger.error({ err, projectId: meta.projectId, index }, 'validator failed on an event');
      return { ok: false, errors: ['internal error while validating this event; it was logged'] };
    }
  }

  /**
   * From now on every request is refused with SB_SHUTTING_DOWN; then waits (at most
   * DRAIN_TIMEOUT_MS) for the requests under way and their writes, so each gets its answer.
   */
  async drain(): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.inFlight > 0 && Date.now() < deadline) {
      this.deps.writer.flushNow();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (this.inFlight > 0) this.deps.logger.warn({ inFlight: this.inFlight }, 'ingest drain timed out');
  }

  /** Never into another deployment's streams (core/deployment.ts): checked once per process. */
  private async deploymentChecked(): Promise<void> {
    if (this.deps.deployment.identity !== undefined) return;
    await this.deps.deployment.ensure().catch((err: unknown) => {
      if (err instanceof SignalboardError && err.code === 'SB_DEPLOYMENT_MISMATCH') throw err;
      throw new StorageUnavailableError('could not check which deployment the Redis namespace belongs to (Redis or MongoDB unreachable); nothing was accepted', this.deps.retryAfterSeconds, err);
    });
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

  private async guardRedis<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof SignalboardError) throw err;
      throw new StorageUnavailableError('Redis did not answer; nothing was accepted', this.deps.retryAfterSeconds, err);
    }
  }
}
