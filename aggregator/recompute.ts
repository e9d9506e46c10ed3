import { randomBytes } from 'node:crypto';
import type { Db, Document } from 'mongodb';
import { COLLECTIONS, COUNT_COLLECTION, type UserDoc } from '../model/collections.js';
import type { StampedEvent } from '../model/event-stream.js';
import { readRawEvents } from '../model/raw-events.js';
import { SignalboardError } from '../core/errors.js';
import { appendToFeed, raiseAppendedBatches } from '../live/feed.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from '../core/redis.js';
import { dayNumber, dayToDate, formatDay, GRANULARITY_MS, weekNumber, weekStartDay } from '../model/time-buckets.js';
import { addUserDelta, emptyDeltas, MAU_DAYS } from './activity-math.js';
import { pausedKey } from './aggregator.js';
import { activityDoc, countDoc, retentionDoc, type AnalyticsStore, type RebuiltUser } from './analytics-store.js';
import { activityChanges, addEventCounts, distinctIdOf, emptyCountChanges, GRANULARITIES, horizonsOf, userDocId, type PlanSettings } from './batch-plan.js';
import { HeldKey } from '../core/held-key.js';
import { PartitionLeases, type Lease } from './partition-lease.js';
import type { RecomputeProgress, RecomputeStep } from './recompute-progress.js';
import { RollupLoop, type LoopDeps } from './rollup-loop.js';

const DAY_MS = GRANULARITY_MS.day;

export interface RecomputeRequest {
  projectId: string;
  /** First and last UTC day numbers, inclusive. */
  fromDay: number;
  toDay: number;
}

export interface RecomputeReport {
  /** Raw events in the range (what the counts were rebuilt from). */
  events: number;
  /** Users whose activity up to the end of the range was read. */
  users: number;
  /** Documents written per collection. */
  written: Record<string, number>;
  ms: number;
}

export interface RecomputeOptions {
  partitions: number;
  leaseMs: number;
  /** Called as the rebuild goes: after each day read, and every 10,000 events. */
  onProgress?: (progress: RecomputeProgress) => void;
}

/**
 * Rebuilds one project's rollups, active users and retention for a range of days from
 * its raw events, with the same planning code the live aggregator uses, so the result
 * equals what the live path would hold.
 *
 * Workers are paused for the duration (they finish their batch and hand their
 * partitions back); the recompute takes every partition's lease, finishes batches a
 * dead worker left in flight, rebuilds, and lets the workers resume. Ingest goes on
 * meanwhile: events wait in the streams.
 */
export async function recompute(loopDeps: LoopDeps, db: Db, options: RecomputeOptions, request: RecomputeRequest): Promise<RecomputeReport> {
  const started = Date.now();
  const { redis, prefix, logger } = loopDeps;
  // Raw events older than their retention are gone, and with them what a rebuild needs
  // (the MAU window and the week before the first day).
  const earliest = dayNumber(started) - loopDeps.settings.expiryDays.raw + MAU_DAYS + 7;
  if (request.fromDay < earliest) {
    throw new SignalboardError('SB_PARAM_INVALID', `--from ${formatDay(request.fromDay)}: raw events older than EXPIRY_RAW_DAYS (${loopDeps.settings.expiryDays.raw}) have expired; the earliest day that can be rebuilt is ${formatDay(earliest)}`);
  }
  const held = await holdAllPartitions(redis, prefix, options, logger);
  let seqs = new Map<number, number>();
  try {
    const loop = new RollupLoop(loopDeps);
    for (const lease of held.leases) loop.add(lease);
    seqs = await loop.settle();
    logger.info({ partitions: seqs.size }, 'recompute: every partition settled; rebuilding');
    // Before every write: still holding every partition, in Redis and in MongoDB.
    const checkpoint = async () => {
      held.assertHeld();
      for (const lease of held.leases) {
        if ((await loopDeps.states.fence(lease.partition)) !== lease.fence) throw lostPartitions(`partition ${lease.partition} was claimed by a newer lease`);
      }
    };
    const report = await rebuild(loopDeps.store, db, loopDeps.settings, seqs, request, checkpoint, options.onProgress ?? (() => undefined));
    return { ...report, ms: Date.now() - started };
  } finally {
    // The figures changed without deltas (also when stopped halfway): live dashboards reload them.
    await raiseAppendedBatches(redis, prefix, request.projectId, seqs)
      .catch((err: unknown) => logger.warn({ err }, 'recompute: could not record the batches as appended; live figures load more slowly'))
      .then(() => appendToFeed(redis, prefix, { type: 'reset', projectId: request.projectId, reason: 'recompute' }))
      .catch((err: unknown) => logger.warn({ err }, 'recompute: could not tell the live gateways; they show the old figures until reloaded'));
    await held.release();
  }
}

function lostPartitions(why: string): SignalboardError {
  return new SignalboardError('SB_RECOMPUTE_BUSY', `recompute stopped: ${why}; the range may be half rebuilt, run it again`);
}

interface HeldPartitions {
  leases: Lease[];
  /** Throws when a lease or the pause was lost (expired while this process stalled, or Redis lost them). */
  assertHeld(): void;
  release(): Promise<void>;
}

/** Pauses the workers and takes every partition's lease; waits out leases of workers that died. */
async function holdAllPartitions(redis: Redis, prefix: string, options: RecomputeOptions, logger: Logger): Promise<HeldPartitions> {
  const owner = `recompute-${randomBytes(4).toString('hex')}`;
  const pause = new HeldKey(redis, pausedKey(prefix), owner, options.leaseMs * 3);
  if ((await pause.hold()) !== 'taken') {
    throw new SignalboardError('SB_RECOMPUTE_BUSY', 'another recompute is running (or one stopped less than a lease time ago); try again shortly');
  }
  const leases = new PartitionLeases(redis, prefix, owner, options.leaseMs);
  const held: Lease[] = [];
  let lost: string | undefined;
  const keepAlive = setInterval(() => {
    void pause.extend().then((ok) => (ok ? undefined : (lost ??= 'the pause key expired')), () => undefined);
    for (const lease of held) void leases.renew(lease).then((ok) => (ok ? undefined : (lost ??= `the lease of partition ${lease.partition} expired`)), () => undefined);
  }, Math.floor(options.leaseMs / 3));
  const release = async () => {
    clearInterval(keepAlive);
    await Promise.all(held.map((lease) => leases.release(lease).catch(() => undefined)));
    await pause.release();
  };
  const assertHeld = () => {
    if (lost !== undefined) throw lostPartitions(lost);
  };
  try {
    // Workers hand back at their next tick (a third of the lease) once their batch under
    // way is done; a dead worker's lease expires.
    const handOverMs = Math.max(60_000, options.leaseMs * 3);
    const deadline = Date.now() + handOverMs;
    let waiting = Array.from({ length: options.partitions }, (_, p) => p);
    while (waiting.length > 0) {
      if (Date.now() > deadline) throw new SignalboardError('SB_RECOMPUTE_BUSY', `partitions ${waiting.join(', ')} were not handed over within ${handOverMs} ms`);
      const still: number[] = [];
      for (const partition of waiting) {
        const lease = await leases.acquire(partition);
        if (lease === undefined) still.push(partition);
        else held.push(lease);
      }
      waiting = still;
      if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    logger.info({ partitions: held.length }, 'recompute: holding every partition');
    return { leases: held, assertHeld, release };
  } catch (err) {
    await release();
    throw err;
  }
}

/** A project's raw events from `firstDay` to `lastDay`, one day at a time, so the step can say how many days it has read. */
async function* readByDay(db: Db, projectId: string, firstDay: number, lastDay: number, step: RecomputeStep, report: (p: RecomputeProgress) => void): AsyncGenerator<StampedEvent> {
  const progress: RecomputeProgress = { step, daysDone: 0, daysTotal: lastDay - firstDay + 1, events: 0, stepStartedAt: Date.now() };
  report({ ...progress });
  for (let day = firstDay; day <= lastDay; day++) {
    for await (const event of readRawEvents(db, { projectId, fromDay: day, toDay: day })) {
      yield event;
      if (++progress.events % 10_000 === 0) report({ ...progress });
    }
    progress.daysDone++;
    report({ ...progress });
  }
}

async function rebuild(
  store: AnalyticsStore,
  db: Db,
  settings: PlanSettings,
  seqs: ReadonlyMap<number, number>,
  request: RecomputeRequest,
  checkpoint: () => Promise<void>,
  report: (p: RecomputeProgress) => void,
): Promise<Omit<RecomputeReport, 'ms'>> {
  const { projectId, fromDay, toDay } = request;
  const asOf = Date.now();
  // Each rebuilt document carries every partition's last batch, so a worker that lost its
  // lease mid-batch without knowing it can't apply that batch on top of the rebuild.
  const wm = Object.fromEntries([...seqs].map(([partition, seq]) => [`p${partition}`, seq]));
  const written: Record<string, number> = {};

  const dayRange = { $gte: dayToDate(fromDay), $lt: dayToDate(toDay + 1) };
  // Counts: every event in the range.
  const counts = emptyCountChanges();
  let events = 0;
  for await (const event of readByDay(db, projectId, fromDay, toDay, 'counting events', report)) {
    events++;
    addEventCounts(counts, event, settings, asOf);
  }
  for (const granularity of GRANULARITIES) {
    const docs = [...counts[granularity].values()].map((c) => ({ _id: c.id, ...countDoc(c), wm }));
    await checkpoint();
    written[COUNT_COLLECTION[granularity]] = await store.replaceRange(COUNT_COLLECTION[granularity], { projectId, bucket: dayRange }, docs);
  }

  // Active users and retention of the range depend on each user's days before it (the
  // cohort is the first day ever) and, for retention, up to a horizon after it.
  const horizons = horizonsOf(settings);
  const weeksFrom = weekStartDay(weekNumber(fromDay));
  const scanEnd = toDay + horizons.days + 7;
  const users = new Map<string, RebuiltUser>();
  // Raw events past their retention are normally swept already: read what is left of them
  // in one query, then the retained days one by one.
  const expiredBefore = dayNumber(asOf) - settings.expiryDays.raw + 1;
  async function* everyEvent() {
    yield* readRawEvents(db, { projectId, fromDay: 0, toDay: expiredBefore - 1 });
    yield* readByDay(db, projectId, expiredBefore, scanEnd, 'reading users', report);
  }
  for await (const event of everyEvent()) {
    const at = event.timestamp;
    const distinctId = distinctIdOf(event);
    let user = users.get(distinctId);
    if (user === undefined) {
      user = { projectId, distinctId, days: new Set(), first: at, last: at, ...(event.userId === undefined ? {} : { userId: event.userId }), ...(event.anonymousId === undefined ? {} : { anonymousId: event.anonymousId }) };
      users.set(distinctId, user);
    }
    user.days.add(dayNumber(at));
    user.first = Math.min(user.first, at);
    user.last = Math.max(user.last, at);
  }
  // Days whose raw events have expired live on only in the user documents: keep them,
  // or a long-standing user would move to a later cohort.
  report({ step: 'writing', daysDone: 0, daysTotal: 0, events, stepStartedAt: Date.now() });
  const all = [...users.values()];
  const stored = new Map<string, UserDoc>();
  for (let i = 0; i < all.length; i += 1000) {
    const chunk = all.slice(i, i + 1000);
    for (const [id, doc] of await store.loadUsers(chunk.map((u) => userDocId(projectId, u.distinctId)))) stored.set(id, doc);
    for (const user of chunk) {
      const doc = stored.get(userDocId(projectId, user.distinctId));
      const old = Object.keys(doc?.days ?? {}).map(Number).filter((day) => day < expiredBefore);
      for (const day of old) user.days.add(day);
      if (old.length > 0 && doc?.firstSeen !== undefined) user.first = Math.min(user.first, doc.firstSeen.getTime());
    }
  }
  const deltas = emptyDeltas();
  let planned = 0;
  for (const user of users.values()) {
    addUserDelta(deltas, new Set(), user.days, horizons);
    // Let the lease renewals run during a long computation.
    if (++planned % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const within = (from: number, to: number) => (date: Date) => date.getTime() >= from * DAY_MS && date.getTime() < (to + 1) * DAY_MS;
  const [days, weeks] = [within(fromDay, toDay), within(weeksFrom, toDay)];
  const changes = activityChanges(projectId, deltas, settings);
  const activity: Document[] = changes.activity.filter((a) => days(a.day)).map((a) => ({ _id: a.id, ...activityDoc(a), wm }));
  const retentionDaily: Document[] = changes.retentionDaily.filter((r) => days(r.cohort)).map((r) => ({ _id: r.id, ...retentionDoc(r), wm }));
  const retentionWeekly: Document[] = changes.retentionWeekly.filter((r) => weeks(r.cohort)).map((r) => ({ _id: r.id, ...retentionDoc(r), wm }));
  await checkpoint();
  written[COLLECTIONS.activity] = await store.replaceRange(COLLECTIONS.activity, { projectId, day: dayRange }, activity);
  await checkpoint();
  written[COLLECTIONS.retentionDaily] = await store.replaceRange(COLLECTIONS.retentionDaily, { projectId, cohort: dayRange }, retentionDaily);
  await checkpoint();
  written[COLLECTIONS.retentionWeekly] = await store.replaceRange(COLLECTIONS.retentionWeekly, { projectId, cohort: { $gte: dayToDate(weeksFrom), $lt: dayToDate(toDay + 1) } }, retentionWeekly);
  // The live path computes the next batch's changes from the users' recorded days.
  await checkpoint();
  written[COLLECTIONS.users] = await store.rebuildUsers(all, stored, scanEnd, settings.expiryDays.users);
  return { events, users: users.size, written };
}
