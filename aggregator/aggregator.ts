import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../core/logger.js';
import { allPartitions, unconsumedEvents } from '../core/event-stream.js';
import { redisReady, type Redis } from '../core/redis.js';
import type { AggregatorMetrics } from './aggregator-metrics.js';
import type { AnalyticsStore, ExpiryMode } from './analytics-store.js';
import { PartitionLeases } from './partition-lease.js';
import { PartitionRunner, type RunnerDeps } from './partition-runner.js';

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
 */
export class Aggregator {
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly leases: PartitionLeases;
  private readonly runners = new Map<number, PartitionRunner>();
  /** Partitions whose old runner is still finishing: not taken again until it has. */
  private readonly stopping = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private expiryMode: ExpiryMode = 'ttl';
  private indexesReady = false;
  private lastSweep = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: AggregatorOptions,
    private readonly runnerDeps: RunnerDeps,
    private readonly store: AnalyticsStore,
    private readonly metrics: AggregatorMetrics,
    private readonly logger: Logger,
  ) {
    this.leases = new PartitionLeases(redis, prefix, this.workerId, options.leaseMs);
  }

  private get membersKey(): string {
    return `${this.prefix}:aggregators`;
  }

  start(): void {
    void this.prepareIndexes();
    const tick = () => {
      this.ticking = this.tick().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'aggregator tick failed'));
    };
    tick();
    this.timer = setInterval(tick, Math.floor(this.options.leaseMs / 3));
  }

  /** Indexes are not needed to write, so a MongoDB that is down at start only delays them. */
  private async prepareIndexes(): Promise<void> {
    for (;;) {
      try {
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
      await Promise.all([...this.runners.keys()].map((p) => this.handBack(p)));
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

  owned(): number[] {
    return [...this.runners.keys()].sort((a, b) => a - b);
  }

  private async handBack(partition: number): Promise<void> {
    const runner = this.runners.get(partition);
    if (runner === undefined) return;
    this.runners.delete(partition);
    // The lease stays ours until the batch under way is done: a recompute or another
    // worker must not take the partition while this runner still writes.
    const keep = setInterval(() => void this.leases.renew(runner.lease).catch(() => undefined), Math.floor(this.options.leaseMs / 3));
    try {
      await runner.stop();
    } finally {
      clearInterval(keep);
    }
    await this.leases.release(runner.lease).catch(() => undefined);
  }

  /** A runner that ended on its own (a newer fencing token holds its partition) gives its lease back. */
  private async dropEnded(): Promise<void> {
    for (const [partition, runner] of [...this.runners]) {
      if (!runner.hasEnded) continue;
      this.runners.delete(partition);
      await this.leases.raiseFence(partition, await this.runnerDeps.states.fence(partition));
      await this.leases.release(runner.lease);
      this.logger.warn({ partition, fence: runner.lease.fence }, 'partition runner ended; lease released');
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
    const workers = Math.max(1, await this.redis.zcard(this.membersKey));
    const share = Math.ceil(this.options.partitions / workers);

    await this.dropEnded();
    for (const [partition, runner] of [...this.runners]) {
      if (!(await this.leases.renew(runner.lease))) {
        this.logger.warn({ partition }, 'lease lost; stopping the partition');
        this.runners.delete(partition);
        this.stopping.add(partition);
        void runner.stop().finally(() => this.stopping.delete(partition));
      }
    }
    for (const partition of this.owned().slice(share)) await this.handBack(partition);
    if (this.runners.size < share) {
      const free = Array.from({ length: this.options.partitions }, (_, p) => p).filter((p) => !this.runners.has(p) && !this.stopping.has(p));
      for (const partition of shuffle(free)) {
        if (this.runners.size >= share) break;
        const lease = await this.leases.acquire(partition);
        if (lease === undefined) continue;
        const runner = new PartitionRunner(this.runnerDeps, lease);
        this.runners.set(partition, runner);
        runner.start();
        this.logger.info({ partition, fence: lease.fence }, 'partition acquired');
      }
    }
    this.metrics.partitionsOwned.set(this.runners.size);
    await this.maybeSweep(now);
  }

  /** One worker at a time deletes expired raw events (and, on servers without TTL indexes, everything expired). */
  private async maybeSweep(now: number): Promise<void> {
    if (!this.indexesReady || now - this.lastSweep < this.options.sweepMs) return;
    this.lastSweep = now;
    const mine = await this.redis.set(`${this.prefix}:expiry-sweep`, this.workerId, 'PX', this.options.sweepMs, 'NX');
    if (mine !== 'OK') return;
    const deleted = await this.store.sweepExpired(this.expiryMode, new Date(now));
    this.metrics.expired.inc(deleted);
    if (deleted > 0) this.logger.info({ deleted }, 'expiry sweep');
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
