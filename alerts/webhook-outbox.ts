import type { Collection, Db } from 'mongodb';
import { insertUnlessPresent } from '../core/store-compat.js';
import { ALERT_COLLECTIONS } from '../model/alert-rules.js';
import type { DeliveryAttempt, DeliveryDoc } from '../model/alert-store.js';
import type { DeliveryOutcome } from './webhook-policy.js';

/** Deliveries and their claims are kept this long, delivered or dead, for the history. */
export const DELIVERY_KEPT_MS = 90 * 24 * 3600 * 1000;

export interface NewDelivery {
  id: string;
  projectId: string;
  ruleId: string;
  url: string;
  secret: string;
  payload: Record<string, unknown>;
}

/**
 * The webhook outbox's documents (`alert_deliveries`): queued once, attempted by the
 * holder of a claim (webhook-claims.ts), each attempt pushed with its outcome. Only a
 * claim's holder writes a delivery, so none of these writes races another.
 */
export class WebhookOutbox {
  readonly collection: Collection<DeliveryDoc>;

  constructor(db: Db) {
    this.collection = db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ status: 1, nextAttemptAt: 1 }, { name: 'status_due' });
    await this.collection.createIndex({ projectId: 1, ruleId: 1, createdAt: -1 }, { name: 'project_rule_created' });
  }

  /** Queues a delivery; false when one is already queued under its id (enqueueing again after a crash is safe). */
  enqueue(delivery: NewDelivery, now: Date): Promise<boolean> {
    return insertUnlessPresent(this.collection, {
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
      expireAt: new Date(now.getTime() + DELIVERY_KEPT_MS),
    });
  }

  /** The pending delivery due longest, not held by a worker, and not among `skip`. */
  nextDue(now: Date, skip: ReadonlySet<string>): Promise<DeliveryDoc | null> {
    return this.collection.findOne(
      { status: 'pending', nextAttemptAt: { $lte: now }, lockedUntil: { $not: { $gte: new Date() } }, ...(skip.size === 0 ? {} : { _id: { $nin: [...skip] } }) },
      { sort: { nextAttemptAt: 1 } },
    );
  }

  get(id: string): Promise<DeliveryDoc | null> {
    return this.collection.findOne({ _id: id });
  }

  /** Marks a claimed delivery held until `until`, so other workers skip it without trying its claim. */
  async hold(id: string, until: Date): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $set: { lockedUntil: until } });
  }

  /** Records an attempt and what follows from it: delivered, dead, or due again at `retryAt`. */
  async record(id: string, attempt: DeliveryAttempt, outcome: DeliveryOutcome, retryAt: Date): Promise<void> {
    const set: Partial<DeliveryDoc> =
      outcome === 'delivered' ? { status: 'delivered', deliveredAt: new Date() }
      : outcome === 'retry' ? { nextAttemptAt: retryAt }
      : { status: 'dead' };
    await this.collection.updateOne({ _id: id }, { $set: { ...set, lockedUntil: null }, $push: { attempts: attempt } });
  }

  async deleteExpired(now: Date): Promise<number> {
    return (await this.collection.deleteMany({ expireAt: { $lt: now } })).deletedCount;
  }
}
