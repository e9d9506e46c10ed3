import { bucketStart, GRANULARITY_MS } from '../model/time-buckets.js';
import type { ActiveUsersFigures, Alert, Cohort, FiringState, ServerMessage } from './live-messages.js';

/** What a change touched, so a frame redraws only those panels. */
export type Panel = 'events' | 'activeUsers' | 'retention' | 'alerts';

export interface FiringAlert {
  ruleId: string;
  name: string;
  value: number | null;
  /** When it started firing (ms). */
  since: number;
}

/** A rule as GET /v1/alerts lists it (the fields the dashboard shows). */
export interface RuleView {
  id: string;
  name: string;
  enabled?: boolean;
  metric: { type: string; event?: string };
  condition: { kind: string; op?: string; value?: number; window?: string };
  state: { status: string; since?: string; value?: number | null; firings?: number };
}

export type RuleStatus = 'firing' | 'pending' | 'ok' | 'resolved';

type Staged = Extract<ServerMessage, { channel: 'events' | 'retention'; type: 'snapshot' | 'delta' }>;

const HOUR = GRANULARITY_MS.hour;
/** A page open all day keeps at most this much of the live minutes... */
const KEEP_MS = 6 * HOUR;
/** ...and drops back to this much (the chart then reads the older part from the API). */
const KEEP_AFTER_PRUNE_MS = 3 * HOUR;
const RECENT_ALERTS = 20;

export interface Changes {
  panels: Set<Panel>;
  /** The events whose minute counts changed; `all` after a snapshot or a prune. */
  events: Set<string> | 'all';
}

/**
 * The dashboard's figures, folded from the API's first answers and the /v1/live
 * messages. Pure: no DOM, no sockets, no clock.
 *
 * Counting messages (events and retention snapshots and deltas) are held until the
 * `sync` that ends their flush and then applied together, as docs/realtime.md asks: a
 * connection that breaks mid-flush gets that flush again after the resume, so nothing
 * counts twice. The resume point is the last sync applied. Gauges (active users) and
 * alerts are applied at once: applying them again changes nothing.
 */
export class LiveModel {
  /** Minute counts per event from `liveFrom` on (bucket start ms → count). */
  readonly counts = new Map<string, Map<number, number>>();
  /** The same, all events together. */
  readonly totals = new Map<number, number>();
  /** Where the live minutes start: the events snapshot's `from`; null before it. */
  liveFrom: number | null = null;
  activeUsers: ActiveUsersFigures | null = null;
  /** DAU today: from the API until the live gauges come. */
  dau: { date: string; users: number; live: boolean } | null = null;
  /** Daily cohorts by day: from the API until the live snapshot comes. */
  cohorts: Map<string, Cohort> | null = null;
  retentionLive = false;
  rules: RuleView[] | null = null;
  /** Firing alerts by rule. */
  readonly firing = new Map<string, FiringAlert>();
  /** Firings and resolutions, newest first. */
  recent: Alert[] = [];

  private firingLive = false;
  private synced: { seq: number; epoch: string | null } | null = null;
  private staged: Staged[] = [];
  /** Alert messages since the last `subscribed`: the alerts snapshot may come after them. */
  private alertsOfSubscription: Alert[] = [];
  private panels = new Set<Panel>();
  private events: Set<string> | 'all' = new Set();

  /** Where a new connection resumes: the last sync applied, once the snapshots were. */
  resumePoint(): { resume: number; epoch: string | null } | undefined {
    return this.synced === null || this.liveFrom === null ? undefined : { resume: this.synced.seq, epoch: this.synced.epoch };
  }

  /** The connection broke: a flush without its sync will come again. */
  connectionLost(): void {
    this.staged = [];
  }

  receive(m: ServerMessage): void {
    switch (m.type) {
      case 'subscribed':
        this.staged = [];
        this.alertsOfSubscription = [];
        return;
      case 'sync':
        for (const s of this.staged) this.apply(s);
        this.staged = [];
        this.synced = { seq: m.seq, epoch: m.epoch };
        return;
      case 'alert':
        this.alertsOfSubscription.push(m);
        this.applyAlert(m);
        return;
      case 'snapshot':
      case 'delta':
        break;
      default:
        return;
    }
    if (m.channel === 'activeUsers') {
      this.activeUsers = { date: m.date, now: m.now, dau: m.dau, wau: m.wau, mau: m.mau };
      this.dau = { date: m.date, users: m.dau, live: true };
      this.panels.add('activeUsers');
    } else if (m.channel === 'alerts') {
      if (m.type === 'snapshot') this.alertsSnapshot(m.firing);
    } else {
      this.staged.push(m);
    }
  }

  /** DAU today from GET /v1/metrics/active-users; the live gauge wins once it came. */
  loadDau(date: string, users: number): void {
    if (this.dau?.live === true) return;
    this.dau = { date, users, live: false };
    this.panels.add('activeUsers');
  }

  /** Cohorts from GET /v1/metrics/retention; the live snapshot wins once it came. */
  loadRetention(cohorts: readonly Cohort[]): void {
    if (this.retentionLive) return;
    this.cohorts = new Map(cohorts.map((c) => [c.cohort, { ...c, retained: [...c.retained] }]));
    this.panels.add('retention');
  }

  /** Rules from GET /v1/alerts and firings from GET /v1/alerts/history. */
  loadAlerts(rules: readonly RuleView[], history: readonly Alert[]): void {
    this.rules = [...rules];
    if (!this.firingLive) {
      this.firing.clear();
      for (const r of rules) {
        if (r.state.status === 'firing') this.firing.set(r.id, { ruleId: r.id, name: r.name, value: r.state.value ?? null, since: Date.parse(r.state.since ?? '') || 0 });
      }
    }
    this.mergeRecent(history);
    this.panels.add('alerts');
  }

  /** What a rule is now: the live alerts win over the state the API listed. */
  ruleStatus(rule: RuleView): RuleStatus {
    if (this.firing.has(rule.id)) return 'firing';
    if (rule.state.status === 'firing') return 'resolved';
    return rule.state.status === 'pending' ? 'pending' : 'ok';
  }

  /** Drops live minutes older than a few hours: a page open for days stays small. */
  prune(now: number): void {
    if (this.liveFrom === null || now - this.liveFrom <= KEEP_MS) return;
    const from = bucketStart(now - KEEP_AFTER_PRUNE_MS, 'minute');
    for (const [event, buckets] of this.counts) {
      for (const t of buckets.keys()) if (t < from) buckets.delete(t);
      if (buckets.size === 0) this.counts.delete(event);
    }
    for (const t of this.totals.keys()) if (t < from) this.totals.delete(t);
    this.liveFrom = from;
    this.panels.add('events');
    this.events = 'all';
  }

  /** The changes since the last call. */
  takeChanges(): Changes {
    const changes = { panels: this.panels, events: this.events };
    this.panels = new Set();
    this.events = new Set();
    return changes;
  }

  private apply(m: Staged): void {
    if (m.channel === 'events') {
      if (m.type === 'snapshot') {
        this.counts.clear();
        this.totals.clear();
        this.liveFrom = Date.parse(m.from);
        for (const c of m.counts) this.add(c.event, Date.parse(c.bucket), c.count);
        this.events = 'all';
      } else {
        const bucket = Date.parse(m.bucket);
        // A late event before the live minutes: the chart shows that minute from the API.
        if (this.liveFrom === null || bucket < this.liveFrom) return;
        this.add(m.event, bucket, m.increment);
        if (this.events !== 'all') this.events.add(m.event);
      }
      this.panels.add('events');
      return;
    }
    if (m.type === 'snapshot') {
      this.cohorts = new Map(m.cohorts.map((c) => [c.cohort, { ...c, retained: [...c.retained] }]));
      this.retentionLive = true;
    } else {
      if (this.cohorts === null || !this.retentionLive) return;
      let row = this.cohorts.get(m.cohort);
      if (row === undefined) this.cohorts.set(m.cohort, (row = { cohort: m.cohort, size: 0, retained: [] }));
      for (let k = row.retained.length; k < m.offset; k++) row.retained[k] = 0;
      row.retained[m.offset] = (row.retained[m.offset] ?? 0) + m.increment;
      if (m.offset === 0) row.size += m.increment;
    }
    this.panels.add('retention');
  }

  private add(event: string, bucket: number, n: number): void {
    let buckets = this.counts.get(event);
    if (buckets === undefined) this.counts.set(event, (buckets = new Map()));
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + n);
    this.totals.set(bucket, (this.totals.get(bucket) ?? 0) + n);
  }

  private alertsSnapshot(firing: readonly FiringState[]): void {
    this.firingLive = true;
    this.firing.clear();
    for (const f of firing) this.firing.set(f.ruleId, { ruleId: f.ruleId, name: f.name, value: f.value ?? null, since: f.since });
    // Alert messages may have come before the snapshot was read: they are newer.
    for (const a of this.alertsOfSubscription) this.applyFiring(a);
    this.panels.add('alerts');
  }

  private applyAlert(a: Alert): void {
    this.applyFiring(a);
    this.mergeRecent([a]);
    this.panels.add('alerts');
  }

  private applyFiring(a: Alert): void {
    if (a.state === 'firing') this.firing.set(a.ruleId, { ruleId: a.ruleId, name: a.name, value: a.value ?? null, since: Date.parse(a.at) || 0 });
    else this.firing.delete(a.ruleId);
  }

  private mergeRecent(alerts: readonly Alert[]): void {
    const byId = new Map(this.recent.map((a) => [a.id, a]));
    for (const a of alerts) byId.set(a.id, a);
    this.recent = [...byId.values()].sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1)).slice(0, RECENT_ALERTS);
  }
}
