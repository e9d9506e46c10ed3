import { decodeEntry, entryEventChars, entryEventCount, streamKey, unconsumedEvents, type StampedEvent } from '../model/event-stream.js';
import { failpoint } from '../core/failpoints.js';
import { eventIdKey } from '../model/raw-events.js';
import type { UserDoc } from '../model/collections.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import { GRANULARITY_MS } from '../model/time-buckets.js';
import { unstorableEvent } from '../model/store-text.js';
import { BSON } from 'mongodb';
import type { AggregatorMetrics } from './aggregator-metrics.js';
import type { AnalyticsStore, PlannedBatch, RollupFold, UnwritableRollup } from './analytics-store.js';
import { planBatch, userDocId, distinctIdOf, type PlanSettings } from './batch-plan.js';
import type { DeadLetters } from './dead-letters.js';
import type { DeltaPublisher } from './delta-publisher.js';
import type { Lease } from './partition-lease.js';
import { isUnwritableDocumentError } from '../core/store-compat.js';
import { LeaseLostError, type InflightBatch, type PartitionState, type PartitionStates } from './partition-state.js';
import type { StreamCommitter } from './stream-commit.js';
import { RecentEventIds } from './recent-event-ids.js';
import { LruMap } from './lru-map.js';
import type { IdentityLink } from '../model/persons.js';
import { UserCache } from './user-cache.js';

export interface LoopDeps {
  redis: Redis;
  prefix: string;
  store: AnalyticsStore;
  states: PartitionStates;
  committer: StreamCommitter;
  publisher: DeltaPublisher;
  deadLetters: DeadLetters;
  metrics: AggregatorMetrics;
  logger: Logger;
  settings: PlanSettings;
  /** Stream entries per partition and cycle (AGGREGATOR_BATCH_ENTRIES). */
  batchEntries: number;
  /** Events per partition and cycle at most (AGGREGATOR_BATCH_EVENTS). */
  batchEvents: number;
  /** Their JSON per partition and cycle at most, in characters (AGGREGATOR_BATCH_BYTES). */
  batchBytes: number;
  pollMs: number;
  /** How often the rollup deltas are folded into the rollups (AGGREGATOR_FOLD_MS). */
  foldMs: number;
  /** Users kept in memory per partition (AGGREGATOR_USER_CACHE_ENTRIES). */
  userCacheEntries: number;
  /** Client eventIds remembered per partition with the batch that stored them (AGGREGATOR_RECENT_EVENT_IDS). */
  recentEventIds: number;
}

export type Entry = [id: string, fields: string[]];

const MAX_BACKOFF_MS = 5000;
/** A partition whose batch the store refused for what it holds is tried again after this long. */
const STALLED_RETRY_MS = 60_000;
/** Rollup documents a fold writes after each cycle (each one update, about 2-5 ms on FerretDB under load). */
const FOLD_DOCS_PER_CYCLE = 12;
/** After a cycle that found nothing to do no batch waits: a fold (e.g. of a burst of many names) goes faster. */
const FOLD_DOCS_IDLE = 200;
/** A cached user is read again after this long (see UserCache). */
const USER_CACHE_MAX_AGE_MS = 10 * 60_000;

/**
 * The leading entries a batch takes: whole entries up to `maxEvents` events and
 * `maxChars` characters of JSON, and at least one (an entry is never split: a batch is a
 * range of entry ids). Returns them with their event count.
 */
export function takeEntries<E extends Entry>(entries: readonly E[], maxEvents: number, maxChars = Infinity): { entries: E[]; events: number } {
  let events = 0;
  let chars = 0;
  let taken = 0;
  for (const [, fields] of entries) {
    const n = entryEventCount(fields);
    const size = entryEventChars(fields);
    if (taken > 0 && (events + n > maxEvents || chars + size > maxChars)) break;
    events += n;
    chars += size;
    taken++;
  }
  return { entries: entries.slice(0, taken), events };
}

/** The wall-clock time a stream entry id was written at. */
function entryTime(id: string): number {
  return Number(id.split('-')[0]);
}

/** A partition while this worker holds its lease: what it knows of it, valid only under this lease. */
class HeldPartition {
  /** Read from MongoDB at the first cycle (the claim), then kept current. */
  state: PartitionState | undefined;
  /** The entries of the batch in flight, when this worker read them (it began the batch with the last commit). */
  prefetched: { batch: InflightBatch; entries: Entry[] } | undefined;
  readonly stream: string;
  readonly users: UserCache;
  readonly recentIds: RecentEventIds;
  /** The identity links this holder saw stored, by link id (see AnalyticsStore.storeLinks). */
  readonly links: LruMap<string, IdentityLink>;

  constructor(readonly lease: Lease, deps: LoopDeps) {
    this.stream = streamKey(deps.prefix, lease.partition);
    this.users = new UserCache(deps.userCacheEntries, USER_CACHE_MAX_AGE_MS);
    this.recentIds = new RecentEventIds(deps.recentEventIds);
    this.links = new LruMap(deps.recentEventIds);
  }

  get partition(): number {
    return this.lease.partition;
  }
}

/** One partition's batch within a cycle. */
interface CycleBatch {
  held: HeldPartition;
  batch: InflightBatch;
  entries: Entry[];
}

/**
 * Works all the partitions a worker holds, in write cycles: each cycle reads the next
 * entries of every partition (each partition's batch), records them as in flight in one
 * command, stores and rolls them up with one write per collection for all of them
 * (analytics-store.ts), publishes their deltas and commits them in one command. The
 * cost of a cycle hardly grows with the partitions in it, so a worker keeps up with
 * however the events spread over them.
 *
 * After a crash anywhere, the next holder of a partition finds its batch in flight and
 * replays exactly its entries; every write is idempotent per (partition, batch), so
 * each event counts once, whichever other batches the replay's cycle holds.
 */
export class RollupLoop {
  private readonly held = new Map<number, HeldPartition>();
  private readonly lost: Lease[] = [];
  private stopping = false;
  private finished: Promise<void> = Promise.resolve();
  /** The cycle under way and its partitions. */
  private current: { partitions: Set<number>; done: Promise<void> } | undefined;
  /** The fold under way: a few documents are written after each cycle. */
  private fold: { round: RollupFold; started: number } | undefined;
  private lastFold = Date.now();
  /** Partitions whose batch the store refused for what it holds, and when each is tried again. */
  private readonly stalled = new Map<number, number>();

  /**
   * @param mayWrite false while this worker must not write (on a server without atomic
   *   updates: its writer key was not confirmed lately, e.g. after a long pause); checked
   *   before a cycle and again before its writes, whose batches then wait in flight.
   */
  constructor(
    private readonly deps: LoopDeps,
    private readonly mayWrite: () => boolean = () => true,
  ) {}

  /** Starts working a partition whose lease this worker took. */
  add(lease: Lease): void {
    this.held.set(lease.partition, new HeldPartition(lease, this.deps));
  }

  partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Stops working a partition; resolves once no cycle writes to it any more (its lease may then go). */
  release(partition: number): Promise<void> {
    this.held.delete(partition);
    this.stalled.delete(partition);
    this.deps.metrics.partitionsStalled.set(this.stalled.size);
    return this.current?.partitions.has(partition) === true ? this.current.done : Promise.resolve();
  }

  /** Leases of partitions a newer holder took: the loop stopped working them, and their leases are to be given back. */
  takeLost(): Lease[] {
    return this.lost.splice(0);
  }

  start(): void {
    this.finished = this.run().catch((err: unknown) => this.deps.logger.error({ err }, 'rollup loop failed'));
  }

  /** Finishes the cycle under way, then stops. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.finished;
  }

  /**
   * For a recompute: claims every partition added and finishes the batches a dead holder
   * left in flight, so every raw event is in the rollups. Returns each partition's last
   * committed batch.
   */
  async settle(): Promise<Map<number, number>> {
    const partitions = [...this.held.values()];
    await this.cycle(partitions, false);
    const lost = this.takeLost();
    if (lost.length > 0) throw new LeaseLostError(lost[0]!.partition);
    // Every delta folded: the recompute replaces documents, and must find them whole.
    this.fold = undefined;
    await this.foldStep(partitions, Infinity, 0);
    if (this.fold !== undefined) throw new Error('rollup deltas were left unfolded');
    return new Map(partitions.map((p) => [p.partition, p.state!.seq]));
  }

  /**
   * Write cycles until stopped. A cycle the store refuses for what it holds (the same
   * cycle would fail the same way forever) is tried again one partition at a time, and a
   * partition that fails alone is set aside (logged once, metered, retried every
   * STALLED_RETRY_MS) so that the others go on; other failures are retried with backoff.
   */
  private async run(): Promise<void> {
    let backoff = 100;
    /** After a refused cycle: its partitions, to be tried one at a time. */
    let alone: number[] = [];
    while (!this.stopping) {
      const now = Date.now();
      const ready = [...this.held.values()].filter((p) => (this.stalled.get(p.partition) ?? 0) <= now);
      const partitions = alone.length === 0 ? ready : ready.filter((p) => p.partition === alone[0]);
      alone = alone.slice(1);
      if (partitions.length === 0) {
        await sleep(this.deps.pollMs);
        continue;
      }
      const step = this.step(partitions);
      this.current = { partitions: new Set(partitions.map((p) => p.partition)), done: step.then(() => undefined, () => undefined) };
      try {
        const batches = await step;
        backoff = 100;
        for (const { partition } of partitions) this.stalled.delete(partition);
        this.deps.metrics.partitionsStalled.set(this.stalled.size);
        if (batches === 0) await sleep(this.deps.pollMs);
      } catch (err) {
        if (isUnwritableDocumentError(err)) {
          if (partitions.length > 1) alone = partitions.map((p) => p.partition);
          else this.stall(partitions[0]!.partition, err as Error);
          continue;
        }
        this.deps.logger.warn({ err: (err as Error).message, partitions: this.partitions(), retryInMs: backoff }, 'write cycle failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      } finally {
        this.current = undefined;
      }
    }
  }

  private stall(partition: number, err: Error): void {
    if (!this.stalled.has(partition)) {
      this.deps.logger.error({ partition, err: err.message, retryInMs: STALLED_RETRY_MS }, 'the store refuses this partition\'s batch for what it holds; set aside while the other partitions go on (docs/operations.md#stalled-partition)');
    }
    this.stalled.set(partition, Date.now() + STALLED_RETRY_MS);
    this.deps.metrics.partitionsStalled.set(this.stalled.size);
  }

  /** A write cycle, then the next documents of the fold; returns the batches committed. */
  private async step(partitions: readonly HeldPartition[]): Promise<number> {
    const batches = await this.cycle(partitions, true);
    await this.foldStep(partitions, batches === 0 ? FOLD_DOCS_IDLE : FOLD_DOCS_PER_CYCLE, this.deps.foldMs).catch((err: unknown) => {
      this.fold = undefined;
      this.deps.logger.warn({ err: (err as Error).message }, 'folding rollup deltas failed; the next fold takes them again');
    });
    return batches;
  }

  /**
   * Writes the next `maxDocs` documents of the fold under way, or starts one when the
   * last started at least `everyMs` ago: it folds the rollup deltas of the partitions
   * held, up to each one's last committed batch. Spread over cycles (a fold writes tens
   * of documents, a few ms each on FerretDB) so that no cycle waits for a whole fold.
   */
  private async foldStep(partitions: readonly HeldPartition[], maxDocs: number, everyMs: number): Promise<void> {
    const { deps } = this;
    if (!this.mayWrite()) return;
    if (this.fold === undefined) {
      if (Date.now() - this.lastFold < everyMs) return;
      this.lastFold = Date.now();
      const upTo = new Map(partitions.filter((p) => p.state !== undefined && this.held.get(p.partition) === p).map((p) => [p.partition, p.state!.seq]));
      const round = await deps.store.startFold(upTo, (doc) => this.deadLetterRollup(doc));
      if (round === undefined) return;
      this.fold = { round, started: Date.now() };
    }
    const { round, started } = this.fold;
    await round.step(maxDocs);
    failpoint('mid-fold');
    if (round.left() > 0) return;
    this.fold = undefined;
    deps.metrics.foldDuration.observe((Date.now() - started) / 1000);
    deps.metrics.deltasFolded.inc(round.deltas);
    deps.logger.debug({ deltas: round.deltas, ms: Date.now() - started }, 'rollup deltas folded');
  }

  /** Keeps a rollup document the server refused (with the changes it missed) as a dead letter, and says so once. */
  private async deadLetterRollup(doc: UnwritableRollup): Promise<void> {
    const { part, seq } = doc;
    this.deps.logger.error({ collection: doc.collection, id: doc.id, err: doc.error }, 'a rollup document was refused for what it holds; its changes are dead-lettered (recompute its days once fixed)');
    await this.deps.deadLetters.add('unwritable rollup document', part, `${part}:${seq}`, BSON.EJSON.stringify(doc, { relaxed: true }));
  }

  /** A partition a newer lease holder took: no longer worked here. */
  private lose(held: HeldPartition): void {
    this.deps.logger.warn({ partition: held.partition }, new LeaseLostError(held.partition).message);
    if (this.held.get(held.partition) === held) this.held.delete(held.partition);
    this.lost.push(held.lease);
  }

  /**
   * One write cycle over `partitions`: batches in flight are replayed, and with `readNew`
   * the others take their next entries. Returns the number of batches committed.
   */
  private async cycle(partitions: readonly HeldPartition[], readNew: boolean): Promise<number> {
    const { deps } = this;
    if (!this.mayWrite()) return 0;
    const stopTimer = deps.metrics.batchDuration.startTimer();
    const claimed: HeldPartition[] = [];
    for (const held of partitions) {
      if (held.state === undefined && !(await this.claim(held))) continue;
      claimed.push(held);
    }
    const t0 = Date.now();
    const batches = await this.nextBatches(claimed, readNew);
    if (batches.length === 0 || !this.mayWrite()) return 0;

    const t1 = Date.now();
    const { counted, timings } = await this.apply(batches);
    const t2 = Date.now();
    // Each partition's next batch is begun by this one's commit: one state write a cycle
    // at a steady rate. Not while stopping or handing the partition back.
    const following = new Map<HeldPartition, CycleBatch>();
    if (readNew && !this.stopping) {
      const still = batches.filter(({ held }) => this.held.get(held.partition) === held);
      const reads = await Promise.all(still.map(({ held, batch }) => this.readAfter(held, batch.to, batch.seq)));
      for (const next of reads) if (next !== undefined) following.set(next.held, next);
    }
    const commits = batches.map(({ held, batch }) => ({ partition: held.partition, fence: held.lease.fence, batch, consumed: held.state!.consumed + batch.events, next: following.get(held)?.batch ?? null }));
    failpoint('before-commit');
    const lost = await deps.states.commit(commits);
    failpoint('after-commit');
    const events = counted.reduce((n, c) => n + c.length, 0);
    deps.logger.debug({ partitions: batches.length, events, readMs: t1 - t0, ...timings, commitMs: Date.now() - t2 }, 'write cycle');
    const committed = batches.filter(({ held }) => !lost.has(held.partition));
    for (const { held } of batches) if (lost.has(held.partition)) this.lose(held);
    batches.forEach(({ held, batch }, i) => {
      if (lost.has(held.partition)) return;
      const { consumed, next } = commits[i]!;
      held.state = { ...held.state!, committed: batch.to, seq: batch.seq, consumed, inflight: next };
      held.prefetched = following.get(held);
    });
    stopTimer();
    await Promise.all(
      committed.map(({ held }) =>
        deps.committer.commit(held.partition, held.state!.committed, held.state!.consumed).catch((err: unknown) => deps.logger.warn({ err, partition: held.partition }, 'redis commit failed; the next commit heals it')),
      ),
    );
    const worked = committed.map(({ held }) => held.partition);
    const lags = await unconsumedEvents(deps.redis, deps.prefix, worked).catch(() => worked.map(() => 0));
    worked.forEach((partition, i) => deps.metrics.lag.set({ partition: String(partition) }, lags[i] ?? 0));
    const now = Date.now();
    for (const events of counted) for (const event of events) deps.metrics.deltaDelay.observe((now - event.receivedAt) / 1000);
    return committed.length;
  }

  /** Takes the partition's state with this lease's fencing token; false when a newer lease holds it. */
  private async claim(held: HeldPartition): Promise<boolean> {
    const { deps } = this;
    const state = await deps.states.claim(held.partition, held.lease.fence);
    if (state === undefined) {
      this.lose(held);
      return false;
    }
    // Heal a commit that reached MongoDB but not Redis before the last holder died.
    await deps.committer.commit(held.partition, state.committed, state.consumed).catch(() => undefined);
    held.state = state;
    return true;
  }

  /** The entries after `from` (AGGREGATOR_BATCH_ENTRIES, AGGREGATOR_BATCH_EVENTS) as batch `seq + 1`; undefined when there are none. */
  private async readAfter(held: HeldPartition, from: string, seq: number): Promise<CycleBatch | undefined> {
    const read = (await this.deps.redis.xrange(held.stream, `(${from}`, '+', 'COUNT', this.deps.batchEntries)) as Entry[];
    if (read.length === 0) return undefined;
    const { entries, events } = takeEntries(read, this.deps.batchEvents, this.deps.batchBytes);
    return { held, batch: { seq: seq + 1, from, to: entries[entries.length - 1]![0], events }, entries };
  }

  /**
   * Each partition's batch: the one in flight (exactly its entries, also on a replay) or,
   * with `readNew`, the next entries, recorded as in flight.
   */
  private async nextBatches(partitions: readonly HeldPartition[], readNew: boolean): Promise<CycleBatch[]> {
    const { deps } = this;
    const reads = partitions.map(async (held): Promise<CycleBatch | undefined> => {
      const { inflight, committed, seq } = held.state!;
      const prefetched = held.prefetched;
      held.prefetched = undefined;
      if (inflight !== null && prefetched?.batch === inflight) return { held, ...prefetched };
      if (inflight !== null) return { held, batch: inflight, entries: (await deps.redis.xrange(held.stream, `(${inflight.from}`, inflight.to)) as Entry[] };
      return readNew ? this.readAfter(held, committed, seq) : undefined;
    });
    const batches = (await Promise.all(reads)).filter((b) => b !== undefined);
    const begun = batches.filter(({ held }) => held.state!.inflight === null);
    const lost = await deps.states.begin(begun.map(({ held, batch }) => ({ partition: held.partition, fence: held.lease.fence, batch })));
    for (const { held, batch } of begun) {
      if (lost.has(held.partition)) this.lose(held);
      else held.state!.inflight = batch;
    }
    return batches.filter(({ held }) => !lost.has(held.partition));
  }

  /** Stores, rolls up and publishes the cycle's batches; returns each batch's counted events, and how long each step took. */
  private async apply(batches: readonly CycleBatch[]): Promise<{ counted: StampedEvent[][]; timings: Record<string, number> }> {
    const { deps } = this;
    const t0 = Date.now();
    const decoded = await Promise.all(batches.map((b) => this.decode(b)));
    const fresh = await deps.store.insertEvents(
      batches.map(({ held, batch }, i) => ({ part: held.partition, seq: batch.seq, events: decoded[i]!, recent: held.recentIds, asOf: entryTime(batch.to) })),
      deps.settings.expiryDays.raw,
    );
    const linked = await deps.store.storeLinks(batches.map(({ held }, i) => ({ events: fresh[i]!, known: held.links })));
    await deps.publisher.markStored(fresh.flat(), linked);
    failpoint('after-insert');
    const t1 = Date.now();

    // One read for the users no partition's cache holds.
    const lookups = batches.map(({ held }, i) => held.users.lookup([...new Set(fresh[i]!.map((e) => userDocId(e.projectId, distinctIdOf(e))))]));
    const read = await deps.store.loadUsers(lookups.flatMap((l) => l.missing));
    // Each batch's plan, with the partition and the user documents it was planned with.
    const planned: Array<{ held: HeldPartition; users: Map<string, UserDoc>; batch: PlannedBatch }> = [];
    batches.forEach(({ held, batch }, i) => {
      const { found, missing } = lookups[i]!;
      const readHere = new Map(missing.flatMap((id) => (read.has(id) ? [[id, read.get(id)!] as const] : [])));
      held.users.remember(readHere);
      if (fresh[i]!.length === 0) return;
      const users = new Map([...found, ...readHere]);
      planned.push({ held, users, batch: { part: held.partition, seq: batch.seq, plan: planBatch(fresh[i]!, users, batch.seq, deps.settings, entryTime(batch.to)) } });
    });
    const t2 = Date.now();
    await deps.store.apply(
      planned.map((p) => p.batch),
      () => failpoint('mid-apply'),
    );
    const t3 = Date.now();
    for (const { held, users, batch } of planned) held.users.record(batch.plan.users, users);

    const decodedCount = decoded.reduce((n, d) => n + d.length, 0);
    const freshCount = fresh.reduce((n, f) => n + f.length, 0);
    deps.metrics.events.inc({ result: 'duplicate' }, decodedCount - freshCount);
    deps.metrics.events.inc({ result: 'counted' }, freshCount);
    deps.metrics.batchEvents.observe(freshCount);
    const byPartition = new Map(batches.map(({ held }, i) => [held.partition, fresh[i]!]));
    await Promise.all(planned.map(({ batch: { part, seq, plan } }) => deps.publisher.publish(byPartition.get(part)!, plan, part, seq)));
    return { counted: fresh, timings: { insertMs: t1 - t0, planMs: t2 - t1, applyMs: t3 - t2, publishMs: Date.now() - t3 } };
  }

  /**
   * A batch's events: undecodable entries, events past the raw retention and events the
   * store cannot hold go to the dead letters (decided from the entries alone, so a
   * replay decides the same), repeats within the batch are dropped.
   */
  private async decode({ held, batch, entries }: CycleBatch): Promise<StampedEvent[]> {
    const { deps } = this;
    // Lateness is judged against when the batch was written, not now, so a replay decides the same.
    const oldest = entryTime(batch.to) - deps.settings.expiryDays.raw * GRANULARITY_MS.day;
    const seen = new Set<string>();
    const events: StampedEvent[] = [];
    for (const [id, fields] of entries) {
      let decoded: StampedEvent[];
      try {
        decoded = decodeEntry(fields);
      } catch (err) {
        await deps.deadLetters.add('undecodable stream entry', held.partition, id, JSON.stringify({ error: (err as Error).message, fields }));
        continue;
      }
      for (const event of decoded) {
        const key = eventIdKey(event.projectId, event.eventId);
        if (seen.has(key)) {
          deps.metrics.events.inc({ result: 'duplicate' });
          continue;
        }
        seen.add(key);
        if (event.timestamp < oldest) {
          deps.metrics.events.inc({ result: 'late' });
          await deps.deadLetters.add('older than the raw-event retention (EXPIRY_RAW_DAYS)', held.partition, id, JSON.stringify(event));
          continue;
        }
        const unstorable = unstorableEvent(event);
        if (unstorable !== undefined) {
          deps.metrics.events.inc({ result: 'unstorable' });
          await deps.deadLetters.add(`unstorable: ${unstorable}`, held.partition, id, JSON.stringify(event));
          continue;
        }
        events.push(event);
      }
    }
    return events;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
