import type { Collection, Db } from 'mongodb';
import type { Logger } from '../core/logger.js';
import { createExpiryIndexes, insertUnlessPresent, type ExpiryMode } from '../core/store-compat.js';
import type { DestinationPolicy } from '../core/webhook-destination.js';
import { ALERT_COLLECTIONS } from '../model/alert-rules.js';
import type { DeliveryAttempt, DeliveryDoc } from '../model/alert-store.js';
import { attemptOutcome, retryDelayMs, type DeliveryOutcome } from './webhook-policy.js';
import { describeFailure, hostOf, postGuarded } from './webhook-sender.js';
import { signWebhookBody } from './webhook-signing.js';

/** One document per (delivery, attempt, takeover): see WebhookDeliveries.claim. */
export const DELIVERY_CLAIMS_COLLECTION = 'alert_delivery_claims';

const KEPT_MS = 90 * 24 * 3600 * 1000;
/** Deliveries POSTed at once per runDue: a slow endpoint holds one lane for at most timeoutMs. */
const CONCURRENCY = 4;
/**
 * A claim lasts timeoutMs plus this. It only matters when its holder died mid-attempt
 * (the delivery waits this long to be taken over); too short, and a holder merely
 * slow to record its outcome would see the delivery sent a second time.
 */
const CLAIM_MARGIN_MS = 30_000;

export interface NewDelivery {
  id: string;
  projectId: string;
  ruleId: string;
  url: string;
  secret: string;
  payload: Record<string, unknown>;
}

export interface WebhookDeliveryOptions {
  /** Attempts in all, the first included; after the last failed one the delivery is dead. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per attempt, until the response headers. */
  timeoutMs: number;
  pollMs: number;
  /** Where webhooks may connect (WEBHOOK_ALLOWED_DESTINATIONS; see core/webhook-destination.ts). */
  destinations: DestinationPolicy;
}

interface ClaimDoc {
  _id: string;
  until: Date;
  expireAt: Date;
}

/**
 * Alert webhooks as an outbox in MongoDB: `enqueue` stores a delivery, `runDue` POSTs
 * the ones that are due, retrying with backoff until `maxAttempts`, then keeps them as
 * dead. Delivery is at least once: receivers dedupe by `x-signalboard-delivery`.
 */
export class WebhookDeliveries {
  private readonly options: Readonly<WebhookDeliveryOptions>;
  private readonly deliveries: Collection<DeliveryDoc>;
  private readonly claims: Collection<ClaimDoc>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;

  constructor(
    private readonly db: Db,
    options: WebhookDeliveryOptions,
    private readonly logger: Logger,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => undefined,
  ) {
    for (const name of ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'timeoutMs', 'pollMs'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`WebhookDeliveries: options.${name} must be a positive integer, got ${String(value)}`);
    }
    if (options.maxDelayMs < options.baseDelayMs) throw new TypeError('WebhookDeliveries: options.maxDelayMs must be at least options.baseDelayMs');
    this.options = Object.freeze({ ...options });
    this.deliveries = db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries);
    this.claims = db.collection<ClaimDoc>(DELIVERY_CLAIMS_COLLECTION);
  }

  /** Returns whether the server expires documents itself (TTL) or needs `sweepExpired`, as AnalyticsStore.ensureIndexes. */
  async ensureIndexes(): Promise<ExpiryMode> {
    await this.deliveries.createIndex({ status: 1, nextAttemptAt: 1 }, { name: 'status_due' });
    await this.deliveries.createIndex({ projectId: 1, ruleId: 1, createdAt: -1 }, { name: 'project_rule_created' });
    return createExpiryIndexes([this.deliveries, this.claims]);
  }

  /** Deletes deliveries and claims past their expiry: for servers without TTL indexes. */
  async sweepExpired(now = new Date()): Promise<number> {
    const deliveries = await this.deliveries.deleteMany({ expireAt: { $lt: now } });
    const claims = await this.claims.deleteMany({ expireAt: { $lt: now } });
    return deliveries.deletedCount + claims.deletedCount;
  }

  /** Queues a delivery; one already queued under the same id is left as it is (so enqueueing again after a crash is safe). */
  async enqueue(delivery: NewDelivery, now = new Date()): Promise<void> {
    const queued = await insertUnlessPresent(this.deliveries, {
      _id: delivery.id,
      projectId: delivery.projectId,
      ruleId: delivery.ruleId,
      url: delivery.url,
      secret: delivery.secret,
      payload: delivery.payload,
      status: 'pending',
      attempts: [],
      nextAttemptAt: now,
      lockedUntil: null,
      createdAt: now,
      expireAt: new Date(now.getTime() + KEPT_MS),
    });
    if (!queued) this.logger.debug({ delivery: delivery.id }, 'webhook delivery already queued');
  }

  /**
   * Attempts every delivery due at `now`, at most CONCURRENCY at a time, each at most
   * once per call; returns how many it attempted. Leases and attempt times use the
   * clock, `now` only decides what is due.
   */
  async runDue(now = new Date()): Promise<number> {
    const seen = new Set<string>();
    const inFlight = new Set<Promise<void>>();
    let attempted = 0;
    try {
      while (!this.stopping) {
        if (inFlight.size >= CONCURRENCY) {
          await Promise.race(inFlight);
          continue;
        }
        const delivery = await this.claimNext(now, seen);
        if (delivery === undefined) break;
        attempted++;
        const attempt: Promise<void> = this.attempt(delivery)
          .catch((err: unknown) => this.logger.error({ err, delivery: delivery._id }, 'webhook delivery attempt not recorded'))
          .finally(() => inFlight.delete(attempt));
        inFlight.add(attempt);
      }
    } finally {
      // Also when a claim failed (MongoDB unreachable): the attempts under way still finish.
      await Promise.all(inFlight);
    }
    return attempted;
  }

  /** Runs runDue every pollMs until stop(). */
  start(): void {
    if (this.timer !== undefined) return;
    this.stopping = false;
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs runDue now (a fresh firing goes out at once, not at the next poll); when a run is under way, once more after it. */
  kick(): void {
    if (this.stopping) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.again = false;
    this.running = this.runDue()
      .then(
        () => undefined,
        (err: unknown) => this.logger.error({ err }, 'webhook delivery run failed'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) this.kick();
      });
  }

  /** Stops polling and claiming (runDue too, until start()); resolves when the attempts under way are recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The next due delivery this worker now holds, or undefined when none is left. `seen`: ids this run already tried. */
  private async claimNext(now: Date, seen: Set<string>): Promise<DeliveryDoc | undefined> {
    for (;;) {
      const candidate = await this.deliveries.findOne(
        { status: 'pending', nextAttemptAt: { $lte: now }, lockedUntil: { $not: { $gte: new Date() } }, ...(seen.size === 0 ? {} : { _id: { $nin: [...seen] } }) },
        { sort: { nextAttemptAt: 1 } },
      );
      if (candidate === null) return undefined;
      seen.add(candidate._id);
      const attempt = candidate.attempts.length + 1;
      const until = await this.claim(candidate._id, attempt);
      if (until === undefined) continue;
      // Read again after the claim: a candidate read before another worker recorded this
      // attempt, and claimed after that worker's claim expired, must not be sent again.
      const held = await this.deliveries.findOne({ _id: candidate._id });
      if (held === null || held.status !== 'pending' || held.attempts.length !== attempt - 1) continue;
      await this.deliveries.updateOne({ _id: held._id }, { $set: { lockedUntil: until } });
      return { ...held, lockedUntil: until };
    }
  }

  /**
   * Makes this worker the only one to make attempt `attempt` of a delivery; returns the
   * claim's expiry, or undefined when another worker holds it.
   *
   * A claim is an insert, never an update: FerretDB 1.24 runs findOneAndUpdate and
   * updateOne as a read, then an unconditional write of the whole document, so two
   * workers both "win" a findOneAndUpdate (measured: 28 of 30 rounds of 4 concurrent
   * calls), and a token written then read back can be overwritten after the read. Its
   * unique `_id` index does hold: of concurrent inserts of one `_id`, exactly one
   * succeeds (on MongoDB too). So only the claim's holder writes the delivery, and no
   * update of it can be lost. A claim left by a worker that died is superseded, once
   * expired, by the next `takeover` number, again by an insert.
   */
  private async claim(id: string, attempt: number): Promise<Date | undefined> {
    const until = new Date(Date.now() + this.options.timeoutMs + CLAIM_MARGIN_MS);
    for (let takeover = 0; ; takeover++) {
      const _id = `${id}#${attempt}#${takeover}`;
      if (await insertUnlessPresent(this.claims, { _id, until, expireAt: new Date(Date.now() + KEPT_MS) })) return until;
      const existing = await this.claims.findOne({ _id });
      if (existing !== null && existing.until.getTime() > Date.now()) return undefined;
    }
  }

  /** POSTs a held delivery once and records the outcome. */
  private async attempt(delivery: DeliveryDoc): Promise<void> {
    const body = JSON.stringify(delivery.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const at = new Date();
    const started = performance.now();
    const result: DeliveryAttempt = { at, ms: 0 };
    try {
      result.status = await postGuarded(
        delivery.url,
        {
          'content-type': 'application/json',
          'user-agent': 'Signalboard-Webhook/1',
          'x-signalboard-delivery': delivery._id,
          'x-signalboard-timestamp': timestamp,
          'x-signalboard-signature': signWebhookBody(delivery.secret, timestamp, body),
        },
        body,
        this.options.timeoutMs,
        this.options.destinations,
      );
    } catch (err) {
      const failure = describeFailure(err, this.options.timeoutMs);
      result.error = failure.shown;
      this.logger.debug({ delivery: delivery._id, host: hostOf(delivery.url), error: failure.detail }, 'webhook attempt failed');
    }
    result.ms = Math.round(performance.now() - started);

    const attempts = delivery.attempts.length + 1;
    const log = { delivery: delivery._id, projectId: delivery.projectId, ruleId: delivery.ruleId, host: hostOf(delivery.url), attempt: attempts, status: result.status, error: result.error };
    const outcome = attemptOutcome(result.status, attempts, this.options.maxAttempts);
    const set: Partial<DeliveryDoc> =
      outcome === 'delivered' ? { status: 'delivered', deliveredAt: new Date() }
      : outcome === 'retry' ? { nextAttemptAt: new Date(Date.now() + retryDelayMs(attempts, this.options.baseDelayMs, this.options.maxDelayMs)) }
      : { status: 'dead' };
    await this.deliveries.updateOne({ _id: delivery._id }, { $set: { ...set, lockedUntil: null }, $push: { attempts: result } });
    this.onOutcome(outcome);
    if (outcome === 'dead') this.logger.warn(log, attempts < this.options.maxAttempts ? 'webhook delivery dead: the endpoint refused it for good' : 'webhook delivery dead after its last attempt');
    else this.logger.debug({ ...log, outcome }, 'webhook delivery attempted');
  }
}
