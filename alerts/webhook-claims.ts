import type { Collection, Db } from 'mongodb';
import { insertUnlessPresent } from '../core/store-compat.js';
import type { DeliveryDoc } from '../model/alert-store.js';
import { DELIVERY_KEPT_MS, type WebhookOutbox } from './webhook-outbox.js';

/** One document per (delivery, attempt, takeover): see DeliveryClaims.claim. */
export const DELIVERY_CLAIMS_COLLECTION = 'alert_delivery_claims';

interface ClaimDoc {
  _id: string;
  until: Date;
  expireAt: Date;
}

/**
 * Which worker makes a delivery's next attempt, so that of several alerts processes
 * exactly one POSTs it (a worker that dies mid-attempt is taken over once its claim
 * expires).
 */
export class DeliveryClaims {
  readonly collection: Collection<ClaimDoc>;

  /** `leaseMs`: how long a claim holds; past it, a holder that died is taken over. */
  constructor(db: Db, private readonly outbox: WebhookOutbox, private readonly leaseMs: number) {
    this.collection = db.collection<ClaimDoc>(DELIVERY_CLAIMS_COLLECTION);
  }

  /** The next delivery due at `now` that this worker now holds, or undefined when none is left. `seen`: ids this run already tried (added to). */
  async next(now: Date, seen: Set<string>): Promise<DeliveryDoc | undefined> {
    for (;;) {
      const candidate = await this.outbox.nextDue(now, seen);
      if (candidate === null) return undefined;
      seen.add(candidate._id);
      const attempt = candidate.attempts.length + 1;
      const until = await this.claim(candidate._id, attempt);
      if (until === undefined) continue;
      // Read again after the claim: a candidate read before another worker recorded this
      // attempt, and claimed after that worker's claim expired, must not be sent again.
      const held = await this.outbox.get(candidate._id);
      if (held === null || held.status !== 'pending' || held.attempts.length !== attempt - 1) continue;
      await this.outbox.hold(held._id, until);
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
    const until = new Date(Date.now() + this.leaseMs);
    for (let takeover = 0; ; takeover++) {
      const _id = `${id}#${attempt}#${takeover}`;
      if (await insertUnlessPresent(this.collection, { _id, until, expireAt: new Date(Date.now() + DELIVERY_KEPT_MS) })) return until;
      const existing = await this.collection.findOne({ _id });
      if (existing !== null && existing.until.getTime() > Date.now()) return undefined;
    }
  }

  async deleteExpired(now: Date): Promise<number> {
    return (await this.collection.deleteMany({ expireAt: { $lt: now } })).deletedCount;
  }
}
