import { randomBytes } from 'node:crypto';
import { historyMinutes, type AlertRule } from '../model/alert-rules.js';
import { AlertStore, type AlertState, type FiringDoc } from '../model/alert-store.js';
import { HeldKey } from '../core/held-key.js';
import type { Clock } from '../core/runtime.js';
import { insertUnlessPresent } from '../core/store-compat.js';
import { appendToFeed } from '../live/feed.js';
import { FeedFollower, type LiveConsumer, type LiveProject, type FeedFollowerOptions } from '../live/feed-follower.js';
import type { LiveFigures } from '../live/live-figures.js';
import { countKey, dimensionKey, type LiveNeeds } from '../live/cells.js';
import { bucketStart, GRANULARITY_MS } from '../model/time-buckets.js';
import { redisReady } from '../core/redis.js';
import type { AlertsMetrics } from './alerts-metrics.js';
import { initialAlertState, stepAlert } from './alert-state.js';
import { evaluateCondition, type Measurement } from './rule-math.js';
import type { WebhookDeliveries } from './webhook-deliveries.js';

export interface EvaluatorOptions extends FeedFollowerOptions {
  leaseMs: number;
  /** How often rules are re-read from MongoDB: a new or changed rule is evaluated within this. */
  rulesRefreshMs: number;
  historyDays: number;
  deliveries: WebhookDeliveries;
  metrics: AlertsMetrics;
  /** The evaluation's `now` (minute windows, state times). */
  clock: Clock;
}

const MINUTE_MS = GRANULARITY_MS.minute;
const TICK_MS = 1000;
/** An unsent notification this old was not being sent by a persist under way. */
const UNSENT_GRACE_MS = 30_000;

/**
 * Evaluates every enabled alert rule as the live feed's deltas arrive (and each second,
 * for conditions that change with time alone). One evaluator in the deployment works
 * at a time, under a Redis leader lease, so each rule is stepped once; its state is
 * stored in MongoDB before anything is sent, so a restart or a new leader continues
 * where the last one stopped and never fires again what already fired.
 */
export class AlertEvaluator implements LiveConsumer {
  private readonly live: FeedFollower;
  private readonly rules = new Map<string, AlertRule[]>();
  private readonly states = new Map<string, AlertState>();
  private readonly persisting = new Map<string, Promise<void>>();
  private readonly store: AlertStore;
  private readonly leadership: HeldKey;
  private resending = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: EvaluatorOptions) {
    const { db, prefix, redis, leaseMs } = options;
    this.store = new AlertStore(db);
    this.leadership = new HeldKey(redis, `${prefix}:alerts:leader`, randomBytes(12).toString('hex'), leaseMs);
    this.live = new FeedFollower(options, this);
  }

  async start(): Promise<void> {
    await Promise.all([
      this.store.firings.createIndex({ projectId: 1, at: -1 }, { name: 'projectId_at' }),
      this.store.states.createIndex({ projectId: 1 }, { name: 'projectId' }),
    ]).catch((err: unknown) => this.options.logger.warn({ err }, 'alerts: could not create the indexes yet'));
    await this.live.start();
    const every = (ms: number, work: () => Promise<void>) => {
      const run = () => void work().catch((err: unknown) => this.options.logger.warn({ err }, 'alerts: background step failed'));
      this.timers.push(setInterval(run, ms));
      run();
    };
    every(Math.max(200, Math.floor(this.options.leaseMs / 3)), () => this.holdLeadership());
    every(this.options.rulesRefreshMs, async () => {
      if (!this.leadership.held) return;
      await this.refreshRules();
      await this.resendUnnotified();
    });
    every(TICK_MS, async () => {
      for (const project of this.live.watched()) this.evaluateProject(project);
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.live.stop();
    await Promise.all(this.persisting.values());
    await this.leadership.release().catch(() => undefined);
  }

  /** Deletes alert history past ALERTS_HISTORY_DAYS (servers without TTL indexes). */
  async sweepExpired(now = new Date()): Promise<void> {
    await this.store.firings.deleteMany({ expireAt: { $lt: now } });
  }

  // ---- LiveConsumer ---------------------------------------------------------------

  needs(projectId: string): LiveNeeds {
    const rules = this.rules.get(projectId) ?? [];
    const counts = rules.filter((r) => r.metric.type === 'count');
    return {
      minutes: Math.max(0, ...counts.map((r) => historyMinutes(r))),
      events: new Set(counts.map((r) => (r.metric.type === 'count' ? r.metric.event : ''))),
      dimensions: counts.some((r) => r.metric.type === 'count' && r.metric.where !== undefined),
      activity: rules.some((r) => r.metric.type === 'activeUsersNow'),
      retentionDays: 0,
    };
  }

  onReady(project: LiveProject): void {
    this.evaluateProject(project);
  }

  onFlush(project: LiveProject): void {
    this.evaluateProject(project);
  }

  onReset(): void {}

  // ---- leadership and rules -------------------------------------------------------

  private async holdLeadership(): Promise<void> {
    const { redis, logger } = this.options;
    // Before the first connection (and while Redis is away) there is no lease to take or keep.
    if (!redisReady(redis)) return;
    const outcome = await this.leadership.hold();
    if (outcome === 'lost') logger.warn('alerts: lost the leader lease; another process evaluates now');
    if (outcome !== 'taken') return;
    // A new leader starts from the stored states: what fired stays fired.
    this.states.clear();
    for (const doc of await this.store.states.find({}).toArray()) {
      this.states.set(doc.ruleId, { status: doc.status, since: doc.since, clearSince: doc.clearSince, firings: doc.firings, value: doc.value, evaluatedAt: doc.evaluatedAt });
    }
    logger.info({ rules: this.states.size }, 'alerts: leader; evaluating');
    await this.refreshRules();
    await this.resendUnnotified(true);
  }

  private async refreshRules(): Promise<void> {
    const byProject = new Map<string, AlertRule[]>();
    for (const rule of await this.store.rules.find({ enabled: true }).toArray()) {
      const list = byProject.get(rule.projectId) ?? [];
      list.push(rule);
      byProject.set(rule.projectId, list);
    }
    // States of rules deleted or disabled meanwhile (also one an in-flight store wrote back) go.
    const enabled = new Set([...byProject.values()].flat().map((r) => r._id));
    for (const id of this.states.keys()) if (!enabled.has(id)) this.states.delete(id);
    await this.store.states.deleteMany({ ruleId: { $nin: [...enabled] } });
    for (const projectId of this.rules.keys()) if (!byProject.has(projectId)) this.live.unwatch(projectId);
    const before = new Map(this.rules);
    this.rules.clear();
    for (const [projectId, rules] of byProject) {
      this.rules.set(projectId, rules);
      if (!before.has(projectId)) this.live.watch(projectId);
      else if (needsKey(this.needs(projectId)) !== needsKey(this.live.get(projectId)!.needs)) this.live.reload(projectId, 'rules changed');
    }
  }

  // ---- evaluation -----------------------------------------------------------------

  private evaluateProject(project: LiveProject): void {
    if (!this.leadership.held || !project.ready || project.state === null) return;
    const now = this.options.clock.now();
    for (const rule of this.rules.get(project.id) ?? []) this.evaluateRule(rule, project, project.state, now);
  }

  private evaluateRule(rule: AlertRule, project: LiveProject, state: LiveFigures, now: number): void {
    // A change of this rule is being stored: its next evaluation comes after.
    if (this.persisting.has(rule._id)) return;
    const measurement: Measurement = rule.metric.type === 'count' ? { series: seriesOf(state, rule, now), nowMs: now } : { gauge: project.activeNow };
    const before = this.states.get(rule._id) ?? initialAlertState(now);
    const { state: after, notify } = stepAlert(before, { ...evaluateCondition(rule, measurement), now, forMs: rule.forMs, resolveAfterMs: rule.resolveAfterMs });
    this.options.metrics.evaluations.inc();
    // Stored: a new status, and the start (or end) of a clear period, so a restart keeps the resolveAfter clock.
    if (after.status === before.status && after.clearSince === before.clearSince && notify === undefined) {
      this.states.set(rule._id, after);
      return;
    }
    // The new state counts only once stored; if storing fails, the next evaluation tries again.
    const stored = this.persist(rule, after, notify)
      .then((done) => {
        if (done) this.states.set(rule._id, after);
      })
      .catch((err: unknown) => this.options.logger.error({ err, rule: rule._id }, 'alerts: could not store a state change; retrying'))
      .finally(() => this.persisting.delete(rule._id));
    this.persisting.set(rule._id, stored);
  }

  /**
   * Stores a state change (for a notification, its history record first: the outbox),
   * then sends. Storing the state is the commit point: true once it is stored, whatever
   * the sending does (what failed to go out is resent by resendUnnotified).
   */
  private async persist(rule: AlertRule, state: AlertState, notify: 'firing' | 'resolved' | undefined): Promise<boolean> {
    const { logger, historyDays } = this.options;
    if (!(await this.leadership.extend())) return false;
    // Deleted or disabled since the rules were read: nothing to store.
    if ((await this.store.rules.countDocuments({ _id: rule._id, enabled: true }, { limit: 1 })) === 0) return false;
    let firing: FiringDoc | null = null;
    if (notify !== undefined) {
      const id = `${rule._id}:${state.firings}:${notify}`;
      const at = new Date(state.since);
      const alert = { id, ruleId: rule._id, name: rule.name, state: notify, value: state.value, at: at.toISOString(), firing: state.firings, metric: rule.metric, condition: conditionSummary(rule) };
      firing = { _id: id, projectId: rule.projectId, ruleId: rule._id, state: notify, alert, at, notified: false, expireAt: new Date(at.getTime() + historyDays * GRANULARITY_MS.day) };
      const inserted = await insertUnlessPresent(this.store.firings, firing);
      // An earlier attempt stored it (and maybe sent it).
      if (!inserted) firing = await this.store.firings.findOne({ _id: id });
    }
    await this.store.states.updateOne(
      { _id: rule._id },
      { $set: { ...state, projectId: rule.projectId, ruleId: rule._id, name: rule.name, updatedAt: new Date() } },
      { upsert: true },
    );
    if (firing !== null && !firing.notified) {
      logger.info({ rule: rule._id, project: rule.projectId, state: firing.state, value: state.value }, 'alert');
      this.options.metrics.notifications.inc({ state: firing.state });
      await this.notify(firing).catch((err: unknown) => logger.warn({ err, alert: firing._id }, 'alerts: sending failed; resent shortly'));
    }
    return true;
  }

  /**
   * Sends, oldest first, what a failed send or a dead leader left unsent, except what a
   * store under way may still send (younger than the grace period, unless taking over).
   * A record whose state change was never stored (the process died between the two
   * writes) never happened: it is deleted, not sent.
   */
  private async resendUnnotified(all = false): Promise<void> {
    if (this.resending) return;
    this.resending = true;
    try {
      const filter = all ? { notified: false } : { notified: false, at: { $lt: new Date(this.options.clock.now() - UNSENT_GRACE_MS) } };
      for (const firing of await this.store.firings.find(filter).sort({ at: 1 }).toArray()) {
        const stored = await this.store.states.findOne({ _id: firing.ruleId });
        const number = firing.alert.firing as number;
        const happened = stored !== null && (stored.firings > number || (stored.firings === number && (firing.state === 'firing' || stored.status !== 'firing')));
        if (happened) await this.notify(firing);
        else await this.store.firings.deleteOne({ _id: firing._id, notified: false });
      }
    } finally {
      this.resending = false;
    }
  }

  /** Queues the dashboards' message and the webhook; replayed for firings a dead leader left unsent. */
  private async notify(firing: FiringDoc): Promise<void> {
    const { redis, prefix, deliveries } = this.options;
    await appendToFeed(redis, prefix, { type: 'alert', projectId: firing.projectId, alert: firing.alert });
    const rule = await this.store.rules.findOne({ _id: firing.ruleId });
    if (rule?.webhook !== undefined && rule.webhookSecret !== undefined) {
      await deliveries.enqueue({ id: `${firing._id}:webhook`, projectId: firing.projectId, ruleId: firing.ruleId, url: rule.webhook.url, secret: rule.webhookSecret, payload: { type: 'alert', projectId: firing.projectId, ...firing.alert } });
      deliveries.kick();
    }
    await this.store.firings.updateOne({ _id: firing._id }, { $set: { notified: true } });
  }
}

function needsKey(needs: LiveNeeds): string {
  return JSON.stringify({ ...needs, events: needs.events === undefined ? null : [...needs.events].sort() });
}

/** The rule's minute buckets from the live figures, as far back as it looks. */
function seriesOf(state: LiveFigures, rule: AlertRule, now: number): Map<number, number> {
  const series = new Map<number, number>();
  if (rule.metric.type !== 'count') return series;
  const { event, where } = rule.metric;
  const filter = where === undefined ? undefined : Object.entries(where)[0]!;
  const last = bucketStart(now, 'minute');
  for (let b = last - (historyMinutes(rule) - 1) * MINUTE_MS; b <= last; b += MINUTE_MS) {
    const n = state.cells.get(filter === undefined ? countKey(event, b) : dimensionKey(event, b, filter[0], filter[1]));
    if (n !== undefined) series.set(b, n);
  }
  return series;
}

function conditionSummary(rule: AlertRule): Record<string, unknown> {
  const { condition } = rule;
  return condition.kind === 'threshold'
    ? { kind: 'threshold', op: condition.op, value: condition.value, ...(condition.window === undefined ? {} : { window: condition.window }) }
    : { kind: 'anomaly', window: condition.window, zScore: condition.zScore, baselineWindows: condition.baselineWindows, direction: condition.direction };
}
