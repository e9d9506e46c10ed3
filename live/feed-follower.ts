import type { Db } from 'mongodb';
import { countActiveNow, feedChannel, feedHead, feedPosition, readFeed, type FeedEntry } from './feed.js';
import { LiveFigures } from './live-figures.js';
import { deltaChanges, staleCell, type LiveNeeds } from './cells.js';
import { loadLiveDocs } from './load-figures.js';
import type { Logger } from '../core/logger.js';
import { createRedis, type Redis } from '../core/redis.js';
import { dayNumber } from '../model/time-buckets.js';

/** A watched project: its figures, where it stands in the feed, and "active users now". */
export interface LiveProject {
  readonly id: string;
  needs: LiveNeeds;
  /** Null while (re)loading. */
  state: LiveFigures | null;
  /** Settled and serving (see LiveFigures). */
  ready: boolean;
  activeNow: number;
  /** The feed's epoch when loaded (see live/feed.ts); null while it had no entry. */
  epoch: string | null;
}

export interface LiveConsumer {
  needs(projectId: string): LiveNeeds;
  /** The project's figures are loaded and settled: snapshots may be served. */
  onReady(project: LiveProject): void;
  /** One flush: the entries read (already applied to the state) and/or a new activeNow. */
  onFlush(project: LiveProject, entries: readonly FeedEntry[], activeNowChanged: boolean): void;
  /** The figures are being reloaded (a recompute, Redis lost the feed, a new UTC day). */
  onReset(project: LiveProject, reason: string): void;
}

export interface FeedFollowerOptions {
  db: Db;
  redis: Redis;
  redisUrl: string;
  prefix: string;
  flushMs: number;
  /** How long a load waits for batches applied but not yet in the feed before serving anyway. */
  settleTimeoutMs: number;
  logger: Logger;
  now?: () => number;
}

interface Watched extends LiveProject {
  watchers: number;
  loadedDay: number;
  loading: boolean;
  reloadWanted: string | null;
  settleTimer: NodeJS.Timeout | undefined;
}

const FULL_POLL_MS = 1000;
const READ_COUNT = 1000;
const RETRY_LOAD_MS = 1000;

/**
 * Follows the live feed for the projects someone watches: loads each project's figures
 * from MongoDB, reads its feed entries every flush interval (at once when the pub/sub
 * wake-up names it, and every second regardless, so a lost wake-up only delays), applies
 * them and hands them to the consumer. The Redis stream, not pub/sub, is the source of
 * truth: nothing is skipped and nothing read twice, however messages are lost.
 */
export class FeedFollower {
  private readonly projects = new Map<string, Watched>();
  private readonly dirty = new Set<string>();
  private readonly subscriber: Redis;
  private timer: NodeJS.Timeout | null = null;
  private lastFullPoll = 0;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: FeedFollowerOptions, private readonly consumer: LiveConsumer) {
    this.now = options.now ?? Date.now;
    this.subscriber = createRedis(options.redisUrl, 'live-feed', { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
    this.subscriber.on('error', (err: Error) => options.logger.warn({ err: err.message }, 'live feed subscriber: redis error'));
    this.subscriber.on('message', (_channel: string, projectId: string) => {
      if (this.projects.has(projectId)) this.dirty.add(projectId);
    });
  }

  async start(): Promise<void> {
    // Subscribed once the connection is ready (ioredis resubscribes after reconnects): a
    // SUBSCRIBE sent earlier puts the connection in subscriber mode before ioredis's ready
    // check, whose INFO Redis then refuses ("Connection in subscriber mode").
    const subscribe = () => {
      this.subscriber.subscribe(feedChannel(this.options.prefix)).catch((err: unknown) => this.options.logger.warn({ err }, 'live feed: could not subscribe yet; polling'));
    };
    if (this.subscriber.status === 'ready') subscribe();
    else this.subscriber.once('ready', subscribe);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const p of this.projects.values()) clearTimeout(p.settleTimer);
    this.subscriber.disconnect();
  }

  get(projectId: string): LiveProject | undefined {
    return this.projects.get(projectId);
  }

  watched(): Iterable<LiveProject> {
    return this.projects.values();
  }

  /** Starts following a project (loading it on first use); pair with unwatch(). */
  watch(projectId: string): LiveProject {
    let p = this.projects.get(projectId);
    if (p === undefined) {
      p = {
        id: projectId, needs: this.consumer.needs(projectId), state: null, ready: false, activeNow: 0, epoch: null,
        watchers: 0, loadedDay: 0, loading: false, reloadWanted: null, settleTimer: undefined,
      };
      this.projects.set(projectId, p);
      void this.load(p);
    }
    p.watchers++;
    return p;
  }

  unwatch(projectId: string): void {
    const p = this.projects.get(projectId);
    if (p === undefined || --p.watchers > 0) return;
    clearTimeout(p.settleTimer);
    this.projects.delete(projectId);
  }

  /** Reloads a project's figures (its needs changed, or they were rewritten). */
  reload(projectId: string, reason: string): void {
    const p = this.projects.get(projectId);
    if (p === undefined) return;
    p.reloadWanted = reason;
    this.dirty.add(projectId);
  }

  private async load(p: Watched): Promise<void> {
    if (p.loading) return;
    p.loading = true;
    p.state = null;
    p.ready = false;
    p.needs = this.consumer.needs(p.id);
    const { db, redis, prefix, logger } = this.options;
    try {
      const now = this.now();
      const position = await feedPosition(redis, prefix, p.id);
      const docs = await loadLiveDocs(db, p.id, p.needs, now);
      p.activeNow = p.needs.activity ? await countActiveNow(redis, prefix, p.id, now) : 0;
      if (this.projects.get(p.id) !== p) return;
      p.state = new LiveFigures(docs, position.seq, position.batches);
      p.epoch = position.epoch;
      p.loadedDay = dayNumber(now);
      // An empty feed (new, or lost with Redis's data) will never carry the loaded batches.
      if (position.seq === 0) p.state.settleNow();
      if (p.state.settled) this.markReady(p);
      else {
        p.settleTimer = setTimeout(() => {
          if (p.ready || p.state === null) return;
          logger.warn({ project: p.id, partitions: p.state.awaitedPartitions() }, 'live figures: batches applied but not in the feed; serving anyway');
          p.state.settleNow();
          this.markReady(p);
        }, this.options.settleTimeoutMs);
      }
      this.dirty.add(p.id);
    } catch (err) {
      logger.warn({ err, project: p.id }, 'live figures: load failed; retrying');
      setTimeout(() => {
        if (this.projects.get(p.id) === p && !this.stopped) void this.load(p);
      }, RETRY_LOAD_MS);
    } finally {
      p.loading = false;
    }
  }

  private markReady(p: Watched): void {
    clearTimeout(p.settleTimer);
    p.settleTimer = undefined;
    p.ready = true;
    this.consumer.onReady(p);
  }

  private resetAndLoad(p: Watched, reason: string): void {
    clearTimeout(p.settleTimer);
    p.settleTimer = undefined;
    p.reloadWanted = null;
    p.state = null;
    p.ready = false;
    this.consumer.onReset(p, reason);
    void this.load(p);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick().catch((err: unknown) => this.options.logger.warn({ err }, 'live feed: flush failed')).finally(() => this.schedule());
    }, this.options.flushMs);
  }

  private async tick(): Promise<void> {
    const now = this.now();
    const full = now - this.lastFullPoll >= FULL_POLL_MS;
    if (full) this.lastFullPoll = now;
    const due = full ? [...this.projects.values()] : [...this.dirty].map((id) => this.projects.get(id)).filter((p) => p !== undefined);
    this.dirty.clear();
    const { redis, prefix } = this.options;
    // Settled, not all: one project's failure must not let the next tick start while others still read.
    const results = await Promise.allSettled(
      due.map(async (p) => {
        if (p.loading || p.state === null) return;
        if (p.reloadWanted !== null) return this.resetAndLoad(p, p.reloadWanted);
        if (dayNumber(now) !== p.loadedDay) return this.resetAndLoad(p, 'day');
        if (full) {
          // Redis lost the feed: a new epoch, or seqs gone back. The figures are reloaded.
          const head = await feedHead(redis, prefix, p.id);
          if (this.projects.get(p.id) !== p || p.state === null) return;
          if (head.seq < p.state.seq || (p.epoch !== null && head.epoch !== p.epoch)) return this.resetAndLoad(p, 'feed lost');
          p.epoch ??= head.epoch;
        }
        const entries = await readFeed(redis, prefix, p.id, p.state.seq, READ_COUNT);
        if (entries.length === READ_COUNT) this.dirty.add(p.id);
        // The feed's first entries came with its epoch: the flush that carries them tells it.
        if (p.epoch === null && entries.length > 0) p.epoch = (await feedHead(redis, prefix, p.id)).epoch;
        let activeNowChanged = false;
        if (p.needs.activity && (full || entries.length > 0)) {
          const activeNow = await countActiveNow(redis, prefix, p.id, now);
          activeNowChanged = activeNow !== p.activeNow;
          p.activeNow = activeNow;
        }
        if (this.projects.get(p.id) !== p || p.state === null) return;
        this.apply(p, entries, activeNowChanged);
        if (full) p.state?.prune(staleCell(p.needs, now));
      }),
    );
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') this.options.logger.warn({ err: result.reason, project: due[i]!.id }, 'live feed: reading a project failed; retrying');
    }
  }

  private apply(p: Watched, entries: readonly FeedEntry[], activeNowChanged: boolean): void {
    const state = p.state!;
    // Entries trimmed away before we read them (far behind): a hole, so reload.
    if (entries.length > 0 && entries[0]!.seq !== state.seq + 1) return this.resetAndLoad(p, 'feed gap');
    const applied: FeedEntry[] = [];
    for (const entry of entries) {
      if (entry.type === 'reset') {
        if (applied.length > 0) this.consumer.onFlush(p, applied, activeNowChanged);
        return this.resetAndLoad(p, entry.reason);
      }
      if (entry.type === 'delta') state.applyDelta(entry.seq, entry.partition, entry.batch, deltaChanges(entry, p.needs));
      else state.skip(entry.seq);
      applied.push(entry);
    }
    // Publish first: sockets served when the figures settle get a snapshot that already holds these entries.
    if (applied.length > 0 || activeNowChanged) this.consumer.onFlush(p, applied, activeNowChanged);
    if (!p.ready && state.settled) this.markReady(p);
  }
}
