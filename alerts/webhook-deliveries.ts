import type { Db } from 'mongodb';
import type { Logger } from '../core/logger.js';
import { createExpiryIndexes, type ExpiryMode } from '../core/store-compat.js';
import type { DestinationPolicy } from '../core/webhook-destination.js';
import type { DeliveryAttempt, DeliveryDoc } from '../model/alert-store.js';
import { DeliveryClaims } from './webhook-claims.js';
import { WebhookOutbox, type NewDelivery } from './webhook-outbox.js';
import { attemptOutcome, retryDelayMs, type DeliveryOutcome } from './webhook-policy.js';
import { describeFailure, hostOf, postGuarded } from './webhook-sender.js';
import { signWebhookBody } from './webhook-signing.js';

/** Deliveries POSTed at once per runDue: a slow endpoint holds one lane for at most timeoutMs. */
const CONCURRENCY = 4;
/**
 * A claim lasts timeoutMs plus this. It only matters when its holder died mid-attempt
 * (the delivery waits this long to be taken over); too short, and a holder merely
 * slow to record its outcome would see the delivery sent a second time.
 */
const CLAIM_MARGIN_MS = 30_000;

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

/**
 * Sends alert webhooks from the outbox (webhook-outbox.ts): `enqueue` stores a
 * delivery, `runDue` claims (webhook-claims.ts) and POSTs the ones that are due,
 * retrying with backoff until `maxAttempts`, then keeps them as dead. Delivery is at
 * least once: receivers dedupe by `x-signalboard-delivery`.
 */
export class WebhookDeliveries {
  private readonly options: Readonly<WebhookDeliveryOptions>;
  private readonly outbox: WebhookOutbox;
  private readonly claims: DeliveryClaims;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;

  constructor(
    db: Db,
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
    this.outbox = new WebhookOutbox(db);
    this.claims = new DeliveryClaims(db, this.outbox, options.timeoutMs + CLAIM_MARGIN_MS);
  }

  /** Returns whether the server expires documents itself (TTL) or needs `sweepExpired`, as AnalyticsStore.ensureIndexes. */
  async ensureIndexes(): Promise<ExpiryMode> {
    await this.outbox.ensureIndexes();
    return createExpiryIndexes([this.outbox.collection, this.claims.collection]);
  }

  /** Deletes deliveries and claims past their expiry: for servers without TTL indexes. */
  async sweepExpired(now = new Date()): Promise<number> {
    return (await this.outbox.deleteExpired(now)) + (await this.claims.deleteExpired(now));
  }

  /** Queues a delivery; one already queued under the same id is left as it is (so enqueueing again after a crash is safe). */
  async enqueue(delivery: NewDelivery, now = new Date()): Promise<void> {
    const queued = await this.outbox.enqueue(delivery, now);
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
        const delivery = await this.claims.next(now, seen);
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
    await this.outbox.record(delivery._id, result, outcome, new Date(Date.now() + retryDelayMs(attempts, this.options.baseDelayMs, this.options.maxDelayMs)));
    this.onOutcome(outcome);
    if (outcome === 'dead') this.logger.warn(log, attempts < this.options.maxAttempts ? 'webhook delivery dead: the endpoint refused it for good' : 'webhook delivery dead after its last attempt');
    else this.logger.debug({ ...log, outcome }, 'webhook delivery attempted');
  }
}
