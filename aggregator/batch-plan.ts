/**
 * Turns one batch of a partition into the documents it changes: pure, no I/O.
 *
 * Rollup documents are one per figure (project, bucket, event; project, day; project,
 * cohort), written by every partition: each carries a watermark per partition (`wm.pN`,
 * the last batch of partition N applied to it), so a replayed batch is refused document
 * by document (see analytics-store.ts). A user lives in one partition, so active users
 * and retention are sums of per-partition deltas.
 *
 * Input: the batch's events that are new (not duplicates of earlier batches), and
 * the current user documents of the users they touch. A user's days recorded by an
 * earlier batch (seq < this batch) are its `before`; adding this batch's days gives
 * `after`. Replaying a batch therefore plans exactly the same increments, even when
 * the first attempt already updated some user documents.
 */
import type { StampedEvent } from '../model/event-stream.js';
import type { UserDoc } from '../model/collections.js';
import { breakdownValue } from '../model/breakdown-values.js';
import { bucketStart, dayNumber, dayToDate, GRANULARITY_MS, weekStartDay, type Granularity } from '../model/time-buckets.js';
import { addUserDelta, emptyDeltas, MAU_DAYS, type ActivityDeltas, type Horizons } from './activity-math.js';

export interface PlanSettings {
  dimensions: readonly string[];
  horizonDays: number;
  /** Days each kind of document is kept after its bucket ends. */
  expiryDays: { raw: number; users: number; minute: number; hour: number; day: number };
}

export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day'];
const DAY_MS = GRANULARITY_MS.day;
/**
 * A user's document is rewritten only for a new active day, an earlier first event,
 * or a lastSeen this much later than the stored one: a returning user's events within
 * the hour cost no write (on FerretDB the users' updates were most of a batch).
 */
export const LAST_SEEN_RESOLUTION_MS = GRANULARITY_MS.hour;

export interface CountChange {
  id: string;
  projectId: string;
  event: string;
  bucket: Date;
  count: number;
  /** "dimension.value" (value escaped) → increment. */
  by: Map<string, number>;
  expireAt: Date;
}

export interface ActivityChange {
  id: string;
  projectId: string;
  day: Date;
  dau: number;
  wau: number;
  mau: number;
  expireAt: Date;
}

export interface RetentionChange {
  id: string;
  projectId: string;
  cohort: Date;
  /** offset → increment (negative when a user moved to an earlier cohort). */
  r: Map<number, number>;
  expireAt: Date;
}

export interface UserChange {
  id: string;
  /** The batch that makes the change. */
  seq: number;
  projectId: string;
  distinctId: string;
  userId?: string;
  anonymousId?: string;
  /** Days this batch records for the first time. */
  newDays: number[];
  firstSeen: Date;
  lastSeen: Date;
  expireAt: Date;
}

export interface BatchPlan {
  users: UserChange[];
  counts: Record<Granularity, CountChange[]>;
  activity: ActivityChange[];
  retentionDaily: RetentionChange[];
  retentionWeekly: RetentionChange[];
}

export function userDocId(projectId: string, distinctId: string): string {
  return `${projectId}|${distinctId}`;
}

/** A user document's identity fields (userId and anonymousId only when known). */
export function userIds(u: Pick<UserDoc, 'projectId' | 'distinctId' | 'userId' | 'anonymousId'>): Pick<UserDoc, 'projectId' | 'distinctId' | 'userId' | 'anonymousId'> {
  return { projectId: u.projectId, distinctId: u.distinctId, ...(u.userId === undefined ? {} : { userId: u.userId }), ...(u.anonymousId === undefined ? {} : { anonymousId: u.anonymousId }) };
}

export function distinctIdOf(event: StampedEvent): string {
  return (event.userId ?? event.anonymousId)!;
}

function daysBefore(doc: UserDoc | undefined, seq: number): Set<number> {
  const days = new Set<number>();
  if (doc === undefined) return days;
  for (const [day, firstSeq] of Object.entries(doc.days)) if (firstSeq < seq) days.add(Number(day));
  return days;
}

function addDays(epochMs: number, days: number): Date {
  return new Date(epochMs + days * DAY_MS);
}

/** Count changes by document id, per granularity. */
export type CountChanges = Record<Granularity, Map<string, CountChange>>;

export function emptyCountChanges(): CountChanges {
  return { minute: new Map(), hour: new Map(), day: new Map() };
}

/** What counting needs of an event: the live stream's events and stored raw events both have it. */
export type CountedEvent = Pick<StampedEvent, 'projectId' | 'event' | 'timestamp' | 'context' | 'properties' | 'overflow'>;

/** Adds one event to its minute, hour and day documents, skipping those already past their expiry at `asOf`. */
export function addEventCounts(counts: CountChanges, event: CountedEvent, settings: PlanSettings, asOf: number): void {
  // The same breakdown keys for all three granularities: worked out once (this runs for every event).
  let keys: string[] | undefined;
  for (const granularity of GRANULARITIES) {
    const start = bucketStart(event.timestamp, granularity);
    const end = start + GRANULARITY_MS[granularity];
    if (end + settings.expiryDays[granularity] * DAY_MS <= asOf) continue;
    const id = `${event.projectId}|${start}|${event.event}`;
    let change = counts[granularity].get(id);
    if (change === undefined) {
      change = { id, projectId: event.projectId, event: event.event, bucket: new Date(start), count: 0, by: new Map(), expireAt: addDays(end, settings.expiryDays[granularity]) };
      counts[granularity].set(id, change);
    }
    change.count++;
    keys ??= settings.dimensions.map((dimension) => `${dimension}.${breakdownValue(event, dimension)}`);
    for (const key of keys) change.by.set(key, (change.by.get(key) ?? 0) + 1);
  }
}

export function horizonsOf(settings: PlanSettings): Horizons {
  return { days: settings.horizonDays, weeks: Math.floor(settings.horizonDays / 7) };
}

/**
 * `asOf` is when the batch was written to the stream (not now, so a replay plans the
 * same): rollups that would already be past their expiry then are not written.
 */
export function planBatch(events: readonly StampedEvent[], users: ReadonlyMap<string, UserDoc>, seq: number, settings: PlanSettings, asOf: number): BatchPlan {
  const counts = emptyCountChanges();
  const perUser = new Map<string, { projectId: string; distinctId: string; event: StampedEvent; days: Set<number>; first: number; last: number }>();

  for (const event of events) {
    addEventCounts(counts, event, settings, asOf);
    const distinctId = distinctIdOf(event);
    const userId = userDocId(event.projectId, distinctId);
    let user = perUser.get(userId);
    if (user === undefined) {
      user = { projectId: event.projectId, distinctId, event, days: new Set(), first: event.timestamp, last: event.timestamp };
      perUser.set(userId, user);
    }
    user.days.add(dayNumber(event.timestamp));
    user.first = Math.min(user.first, event.timestamp);
    user.last = Math.max(user.last, event.timestamp);
  }

  const deltasByProject = new Map<string, ActivityDeltas>();
  const userChanges: UserChange[] = [];
  for (const [id, user] of perUser) {
    const doc = users.get(id);
    const before = daysBefore(doc, seq);
    const after = new Set([...before, ...user.days]);
    let deltas = deltasByProject.get(user.projectId);
    if (deltas === undefined) {
      deltas = emptyDeltas();
      deltasByProject.set(user.projectId, deltas);
    }
    addUserDelta(deltas, before, after, horizonsOf(settings));
    const newDays = [...user.days].filter((d) => !before.has(d));
    const storedLast = doc?.lastSeen?.getTime() ?? 0;
    const changed = newDays.length > 0 || user.first < (doc?.firstSeen?.getTime() ?? Infinity) || user.last >= storedLast + LAST_SEEN_RESOLUTION_MS;
    if (!changed) continue;
    const lastSeen = Math.max(user.last, storedLast);
    userChanges.push({
      id,
      seq,
      projectId: user.projectId,
      distinctId: user.distinctId,
      ...(user.event.userId === undefined ? {} : { userId: user.event.userId }),
      ...(user.event.anonymousId === undefined ? {} : { anonymousId: user.event.anonymousId }),
      newDays,
      firstSeen: new Date(user.first),
      lastSeen: new Date(user.last),
      expireAt: addDays(lastSeen, settings.expiryDays.users),
    });
  }

  const plan: BatchPlan = {
    users: userChanges,
    counts: { minute: [...counts.minute.values()], hour: [...counts.hour.values()], day: [...counts.day.values()] },
    activity: [],
    retentionDaily: [],
    retentionWeekly: [],
  };
  for (const [projectId, deltas] of deltasByProject) {
    const changes = activityChanges(projectId, deltas, settings);
    plan.activity.push(...changes.activity);
    plan.retentionDaily.push(...changes.retentionDaily);
    plan.retentionWeekly.push(...changes.retentionWeekly);
  }
  return plan;
}

/** One project's active-user and retention deltas as document changes. */
export function activityChanges(projectId: string, deltas: ActivityDeltas, settings: PlanSettings): Pick<BatchPlan, 'activity' | 'retentionDaily' | 'retentionWeekly'> {
  const byDay = new Map<number, ActivityChange>();
  const change = (day: number) => {
    let c = byDay.get(day);
    if (c === undefined) {
      // Kept as long as day rollups, counted from the last day its MAU window reaches.
      c = { id: `${projectId}|${day}`, projectId, day: dayToDate(day), dau: 0, wau: 0, mau: 0, expireAt: addDays((day + MAU_DAYS) * DAY_MS, settings.expiryDays.day) };
      byDay.set(day, c);
    }
    return c;
  };
  for (const [day, n] of deltas.dau) change(day).dau += n;
  for (const [day, n] of deltas.wau) change(day).wau += n;
  for (const [day, n] of deltas.mau) change(day).mau += n;
  return {
    activity: [...byDay.values()],
    retentionDaily: retentionChanges(projectId, deltas.retentionDaily, (cohort) => cohort, settings),
    retentionWeekly: retentionChanges(projectId, deltas.retentionWeekly, weekStartDay, settings),
  };
}

function retentionChanges(projectId: string, cells: Map<string, number>, cohortStartDay: (cohort: number) => number, settings: PlanSettings): RetentionChange[] {
  const byCohort = new Map<number, RetentionChange>();
  for (const [cell, n] of cells) {
    const [cohort, offset] = cell.split(':').map(Number) as [number, number];
    let change = byCohort.get(cohort);
    if (change === undefined) {
      const startDay = cohortStartDay(cohort);
      change = { id: `${projectId}|${startDay}`, projectId, cohort: dayToDate(startDay), r: new Map(), expireAt: addDays((startDay + settings.horizonDays) * DAY_MS, settings.expiryDays.day) };
      byCohort.set(cohort, change);
    }
    change.r.set(offset, (change.r.get(offset) ?? 0) + n);
  }
  return [...byCohort.values()];
}
