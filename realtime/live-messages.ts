import type { FeedEntry } from '../live/feed.js';
import type { LiveFigures } from '../live/live-figures.js';
import { activityKey, windowStart, type LiveNeeds } from '../live/cells.js';
import { dayNumber, formatDay } from '../model/time-buckets.js';

/**
 * The messages of /v1/live (docs/realtime.md), built from a project's live figures and
 * feed entries. Pure, no I/O.
 */
export const CHANNELS = ['events', 'activeUsers', 'retention', 'alerts'] as const;
export type Channel = (typeof CHANNELS)[number];

export const PROTOCOL_VERSION = 1;

/** Today's active users: the gauges of the activeUsers channel. */
export function activeUsersFigures(state: LiveFigures, activeNow: number, now: number) {
  const today = dayNumber(now);
  const cell = (field: 'dau' | 'wau' | 'mau') => state.cells.get(activityKey(today, field)) ?? 0;
  return { date: formatDay(today), now: activeNow, dau: cell('dau'), wau: cell('wau'), mau: cell('mau') };
}

/** The snapshot of one channel (alerts aside: their snapshot comes from MongoDB). */
export function snapshotMessage(channel: Exclude<Channel, 'alerts'>, state: LiveFigures, needs: LiveNeeds, activeNow: number, now: number, filter: ReadonlySet<string> | null, reason?: string): string {
  const head = { type: 'snapshot', seq: state.seq, channel, ...(reason === undefined ? {} : { reason }) };
  if (channel === 'activeUsers') return JSON.stringify({ ...head, ...activeUsersFigures(state, activeNow, now) });
  if (channel === 'events') {
    const counts: { event: string; bucket: string; count: number }[] = [];
    const first = windowStart(needs, now);
    for (const [key, count] of state.cells) {
      const [kind, event, bucket, dimension] = JSON.parse(key) as [string, string, number, string?];
      if (kind !== 'c' || dimension !== undefined || bucket < first || (filter !== null && !filter.has(event))) continue;
      counts.push({ event, bucket: new Date(bucket).toISOString(), count });
    }
    counts.sort((a, b) => (a.bucket === b.bucket ? (a.event < b.event ? -1 : 1) : a.bucket < b.bucket ? -1 : 1));
    return JSON.stringify({ ...head, granularity: 'minute', from: new Date(first).toISOString(), counts });
  }
  const firstCohort = dayNumber(now) - needs.retentionDays + 1;
  const cohorts = new Map<number, number[]>();
  for (const [key, n] of state.cells) {
    const [kind, cohort, offset] = JSON.parse(key) as [string, number, number];
    if (kind !== 'r' || cohort < firstCohort) continue;
    const row = cohorts.get(cohort) ?? [];
    row[offset] = n;
    cohorts.set(cohort, row);
  }
  return JSON.stringify({
    ...head,
    period: 'day',
    from: formatDay(firstCohort),
    cohorts: [...cohorts].sort(([a], [b]) => a - b).map(([cohort, row]) => ({ cohort: formatDay(cohort), size: row[0] ?? 0, retained: Array.from(row, (n) => n ?? 0) })),
  });
}

export interface CoalescedFeed {
  /** One delta per (event, minute bucket), increments summed. */
  events: { event: string; message: string }[];
  /** One delta per (cohort, offset). */
  retention: string[];
  /** Alert messages, one per entry: they are not summed. */
  alerts: string[];
  /** Some delta changed today's active users. */
  activityChanged: boolean;
  /** How many of the entries' changes were merged into another's message. */
  merged: number;
  /** Each delta's receivedAt and event names, for the delay metric (empty unless asked for). */
  delays: { receivedAt: number; events: string[] }[];
}

/**
 * Folds feed entries, one at a time, into at most one message per figure. A resume
 * folds up to LIVE_FEED_KEPT entries page by page, so it holds the coalesced figures,
 * never the entries.
 */
export class FeedCoalescer {
  private readonly events = new Map<string, { event: string; bucket: string; increment: number }>();
  private readonly retention = new Map<string, { cohort: string; offset: number; increment: number }>();
  private readonly alerts: string[] = [];
  private readonly delays: CoalescedFeed['delays'] = [];
  private readonly today: string;
  private activityChanged = false;
  private changes = 0;

  /** `trackDelays`: keep what the delay metric needs, one record per delta (a flush does; a resume does not). */
  constructor(now: number, private readonly trackDelays = true) {
    this.today = formatDay(dayNumber(now));
  }

  add(entry: FeedEntry): void {
    if (entry.type === 'alert') this.alerts.push(JSON.stringify({ type: 'alert', seq: entry.seq, channel: 'alerts', ...entry.alert }));
    if (entry.type !== 'delta') return;
    if (this.trackDelays) this.delays.push({ receivedAt: entry.receivedAt, events: entry.counts.map((c) => c.event) });
    for (const c of entry.counts) {
      const key = `${c.bucket}|${c.event}`;
      const known = this.events.get(key);
      if (known === undefined) this.events.set(key, { event: c.event, bucket: c.bucket, increment: c.increment });
      else known.increment += c.increment;
    }
    for (const r of entry.retention) {
      const key = `${r.cohort}|${r.offset}`;
      const known = this.retention.get(key);
      if (known === undefined) this.retention.set(key, { ...r });
      else known.increment += r.increment;
    }
    if (entry.activeUsers.some((a) => a.date === this.today)) this.activityChanged = true;
    this.changes += entry.counts.length + entry.retention.length;
  }

  /** The messages of everything added, each carrying `seq`. */
  finish(seq: number): CoalescedFeed {
    const events = Array.from(this.events.values(), ({ event, bucket, increment }) => ({
      event,
      message: JSON.stringify({ type: 'delta', seq, channel: 'events', event, bucket, increment }),
    }));
    const retention = Array.from(this.retention.values(), (r) => JSON.stringify({ type: 'delta', seq, channel: 'retention', ...r }));
    return {
      events, retention, alerts: this.alerts, activityChanged: this.activityChanged,
      merged: this.changes - this.events.size - this.retention.size, delays: this.delays,
    };
  }
}

/** Coalesces a run of feed entries into at most one message per figure; every message carries `seq`. */
export function coalesce(entries: readonly FeedEntry[], seq: number, now: number): CoalescedFeed {
  const coalescer = new FeedCoalescer(now);
  for (const entry of entries) coalescer.add(entry);
  return coalescer.finish(seq);
}

/** Ends a flush (and a snapshot or resume answer): everything up to `seq` has been sent. */
export function syncMessage(seq: number, epoch: string | null): string {
  // The epoch too: a client that subscribed while the feed was empty learns it here.
  return JSON.stringify({ type: 'sync', seq, epoch });
}

/** The activeUsers gauge delta: the new values, not increments. */
export function activeUsersMessage(state: LiveFigures, activeNow: number, now: number): string {
  return JSON.stringify({ type: 'delta', seq: state.seq, channel: 'activeUsers', ...activeUsersFigures(state, activeNow, now) });
}
