import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeploymentBinding } from '../core/deployment.js';
import { SignalboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { allPartitions, unconsumedEvents } from '../model/event-stream.js';
import { HeldKey } from '../core/held-key.js';
import { redisReady, type Redis } from '../core/redis.js';
import type { AggregatorMetrics } from './aggregator-metrics.js';
import type { AnalyticsStore } from './analytics-store.js';
import type { ExpiryMode } from '../core/store-compat.js';
import { PartitionLeases, type Lease } from './partition-lease.js';
import { RollupLoop, type LoopDeps } from './rollup-loop.js';

/** While this key exists (a recompute runs), workers hold no partitions. */
export function pausedKey(prefix: string): string {
  return `${prefix}:aggregators:paused`;
}

export interface AggregatorOptions {
  partitions: number;
  leaseMs: number;
  sweepMs: number;
  /** How long stop() waits for the batches under way (AGGREGATOR_DRAIN_TIMEOUT_MS). */
  drainTimeoutMs: number;
}

/**
 * One aggregator worker. Every lease-time third it announces itself, renews its leases
 * (stopping a partition whose lease was lost), hands back partitions beyond its fair
 * share (partitions / live workers) and takes free ones up to it. So partitions
 * rebalance when workers join, die (their leases expire) or leave (SIGTERM hands over).
 * One RollupLoop works all the partitions it holds.
 *
 * Rollup documents are written by every partition, so on a server whose updates are not
 * atomic (FerretDB 1.x) only one worker may write at a time: there the worker holding
 * `<prefix>:aggregators:writer` takes every partition and the others stand by, taking
 * over within the lease time when it dies or leaves.
 */
export class Aggregator {
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly leases: PartitionLeases;
  private readonly loop: RollupLoop;
  /** Partitions whose lease is held, by partition. */
  private readonly held = new Map<number, Lease>();
  /** Partitions whose lease was lost while a cycle still wrote to them: not taken again until it is done. */
  private readonly stopping = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private expiryMode: ExpiryMode = 'ttl';
  private indexesReady = false;
  /** Known once MongoDB answered: one worker writes at a time (see the class comment). */
  private singleWriter: boolean | undefined;
  private readonly writer: HeldKey;
  /** When the writer key was last confirmed (taken at the moment of asking). */
  private writerConfirmedAt = 0;
  private lastSweep = 0;
  private sweeping: Promise<void> | undefined;
  private inTick = false;
  private refusalLogged = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: AggregatorOptions,
    private readonly loopDeps: LoopDeps,
    private readonly store: AnalyticsStore,
    private readonly metrics: AggregatorMetrics,
    private readonly logger: Logger,
    private readonly deployment: DeploymentBinding,
  ) {
    this.leases = new PartitionLeases(redis, prefix, this.workerId, options.leaseMs);
    this.writer = new HeldKey(redis, `${prefix}:aggregators:writer`, this.workerId, options.leaseMs);
    // Writing without a recent confirmation of the writer key could race the next writer.
    this.loop = new RollupLoop(loopDeps, () => this.singleWriter !== true || (this.writer.held && Date.now() - this.writerConfirmedAt < (this.options.leaseMs * 2) / 3));
  }

  private get membersKey(): string {
    return `${this.prefix}:aggregators`;
  }

  start(): void {
    void this.prepareIndexes();
    const tick = () => {
      // One tick at a time: a tick that hands a partition back waits for a whole cycle.
      if (this.inTick) return;
      this.inTick = true;
      this.ticking = this.tick()
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'aggregator tick failed'))
        .finally(() => (this.inTick = false));
    };
    tick();
    this.timer = setInterval(tick, Math.floor(this.options.leaseMs / 3));
    this.loop.start();
  }

  /** Indexes are not needed to write, so a MongoDB that is down at start only delays them. */
  private async prepareIndexes(): Promise<void> {
    for (;;) {
      try {
        if (this.singleWriter === undefined) {
          this.singleWriter = !(await this.store.updatesAreAtomic());
          if (this.singleWriter) this.logger.info({ workerId: this.workerId }, 'aggregator: this server does not update documents atomically; one worker writes at a time, others stand by');
        }
        this.expiryMode = await this.store.ensureIndexes();
        break;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'could not create indexes yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
    this.indexesReady = true;
    this.metrics.expiryMode.set({ mode: this.expiryMode }, 1);
    this.metrics.expiryMode.set({ mode: this.expiryMode === 'ttl' ? 'sweep' : 'ttl' }, 0);
    this.logger.info(
      { workerId: this.workerId, expiryMode: this.expiryMode },
      this.expiryMode === 'ttl' ? 'expiry: MongoDB TTL indexes' : 'expiry: this server has no TTL indexes; sweeping expired documents periodically',
    );
  }

  /**
   * Finishes the batches under way, hands every partition back, and leaves. Waits at
   * most `drainTimeoutMs`: a batch that cannot finish (MongoDB or Redis gone) is left
   * in flight, which is safe, since the next holder of its partition replays it.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const drained = (async () => {
      await this.ticking;
      await Promise.all(this.owned().map((p) => this.handBack(p)));
      await this.loop.stop();
      await this.writer.release().catch(() => undefined);
      // Last: a long sweep must not keep the partitions from the next holder.
      await this.sweeping;
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.drainTimeoutMs)));
    const finished = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (!finished) {
      const left = await unconsumedEvents(this.redis, this.prefix, allPartitions(this.options.partitions)).then((lags) => lags.reduce((a, b) => a + b, 0), () => undefined);
      this.logger.warn(
        { drainTimeoutMs: this.options.drainTimeoutMs, eventsNotRolledUp: left ?? 'unknown (Redis did not answer)' },
        'aggregator: stopped before its batches under way could finish (is MongoDB down?); the events stay in the streams and the next start rolls them up',
      );
    }
    await this.redis.zrem(this.membersKey, this.workerId).catch(() => undefined);
  }

  /** Whether the Redis namespace is this deployment's (core/deployment.ts); a refusal is logged once. */
  private async deploymentChecked(): Promise<boolean> {
    if (this.deployment.identity !== undefined) return true;
    try {
      await this.deployment.ensure();
      return true;
    } catch (err) {
      if (err instanceof SignalboardError && err.code === 'SB_DEPLOYMENT_MISMATCH' && !this.refusalLogged) {
        this.refusalLogged = true;
        this.logger.error({ code: err.code }, `aggregator: consuming nothing: ${err.message}`);
      }
      return false;
    }
  }

  owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  private async handBack(partition: number): Promise<void> {
    const lease = this.held.get(partition);
    if (lease === undefined) return;
    this.held.delete(partition);
    // The lease stays ours until the cycle under way is done: a recompute or another
    // worker must not take the partition while this worker still writes to it.
    const keep = setInterval(() => void this.leases.renew(lease).catch(() => undefined), Math.floor(this.options.leaseMs / 3));
    try {
      await this.loop.release(partition);
    } finally {
      clearInterval(keep);
    }
    await this.leases.release(lease).catch(() => undefined);
  }

  /** Partitions the loop found taken by a newer fencing token: their leases go back. */
  private async dropLost(): Promise<void> {
    for (const lease of this.loop.takeLost()) {
      if (this.held.get(lease.partition) === lease) this.held.delete(lease.partition);
      await this.leases.raiseFence(lease.partition, await this.loopDeps.states.fence(lease.partition));
      await this.leases.release(lease);
      this.logger.warn({ partition: lease.partition, fence: lease.fence }, 'partition taken by a newer lease holder; lease released');
    }
  }

  private async tick(): Promise<void> {
    // Before the first connection (and while Redis is away) there is nothing to renew or take.
    if (!redisReady(this.redis)) return;
    const now = Date.now();
    await this.redis.zadd(this.membersKey, now + this.options.leaseMs, this.workerId);
    await this.redis.zremrangebyscore(this.membersKey, '-inf', now);
    if ((await this.redis.exists(pausedKey(this.prefix))) === 1) {
      // A recompute holds the partitions; hand ours over at the end of their batches.
      await Promise.all(this.owned().map((p) => this.handBack(p)));
      this.metrics.partitionsOwned.set(0);
      return;
    }
    // Never another deployment's streams: they would be counted here and trimmed there.
    if (!(await this.deploymentChecked())) {
      await Promise.all(this.owned().map((p) => this.handBack(p)));
      this.metrics.partitionsOwned.set(0);
      return;
    }
    // Until MongoDB said whether updates are atomic, no partition is taken.
    if (this.singleWriter === undefined || (this.singleWriter && !(await this.holdWriter()))) {
      await Promise.all(this.owned().map((p) => this.handBack(p)));
      this.metrics.partitionsOwned.set(0);
      return;
    }
    const workers = this.singleWriter ? 1 : Math.max(1, await this.redis.zcard(this.membersKey));
    const share = Math.ceil(this.options.partitions / workers);

    await this.dropLost();
    for (const [partition, lease] of [...this.held]) {
      if (!(await this.leases.renew(lease))) {
        this.logger.warn({ partition }, 'lease lost; stopping the partition');
        this.held.delete(partition);
        this.stopping.add(partition);
        void this.loop.release(partition).finally(() => this.stopping.delete(partition));
      }
    }
    for (const partition of this.owned().slice(share)) await this.handBack(partition);
    if (this.held.size < share) {
      const free = Array.from({ length: this.options.partitions }, (_, p) => p).filter((p) => !this.held.has(p) && !this.stopping.has(p));
      for (const partition of shuffle(free)) {
        if (this.held.size >= share) break;
        const lease = await this.leases.acquire(partition);
        if (lease === undefined) continue;
        this.held.set(partition, lease);
        this.loop.add(lease);
        this.logger.info({ partition, fence: lease.fence }, 'partition acquired');
      }
    }
    this.metrics.partitionsOwned.set(this.held.size);
    // Not awaited: a long sweep must not hold up the lease renewals of the next ticks.
    if (this.sweeping === undefined) this.sweeping = this.maybeSweep(now).catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'expiry sweep failed')).finally(() => (this.sweeping = undefined));
  }

  /** Takes or keeps the single writer's key; false while another worker holds it. */
  private async holdWriter(): Promise<boolean> {
    const asked = Date.now();
    const outcome = await this.writer.hold();
    if (outcome === 'lost') this.logger.warn('aggregator: lost the writer key; handing the partitions back');
    if (outcome === 'taken') this.logger.info({ workerId: this.workerId }, 'aggregator: the writing worker');
    if (this.writer.held) this.writerConfirmedAt = asked;
    return this.writer.held;
  }

  /** One worker at a time deletes expired raw events (and, on servers without TTL indexes, everything expired). */
  private async maybeSweep(now: number): Promise<void> {
    if (!this.indexesReady || now - this.lastSweep < this.options.sweepMs) return;
    this.lastSweep = now;
    const mine = await this.redis.set(`${this.prefix}:expiry-sweep`, this.workerId, 'PX', this.options.sweepMs, 'NX');
    if (mine !== 'OK') return;
    const deleted = await this.store.sweepExpired(this.expiryMode, this.loopDeps.settings.expiryDays.raw, new Date(now));
    this.metrics.expired.inc(deleted);
    this.metrics.lastSweep.set(Date.now() / 1000);
    this.logger[deleted > 0 ? 'info' : 'debug']({ deleted, ms: Date.now() - now }, 'expiry sweep');
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
