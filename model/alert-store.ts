import type { Collection, Db } from 'mongodb';
import { ALERT_COLLECTIONS, type AlertRule } from './alert-rules.js';

/**
 * The alerts collections as stored, and one typed store over them: the alerts role
 * writes them, the api shows them (rules, states, history, deliveries), the gateway
 * sends the firing states in an alerts snapshot.
 */

export type AlertStatus = 'ok' | 'pending' | 'firing' | 'resolved';

/** The alert state machine's state (alerts/alert-state.ts): numbers (epoch ms), strings and null only, so it stores as is. */
export interface AlertState {
  status: AlertStatus;
  /** When the current status began. */
  since: number;
  /** While firing: when the condition was first seen cleared, in the current run of cleared steps. */
  clearSince: number | null;
  /** How many times the alert has fired. */
  firings: number;
  /** The value of the last step. */
  value: number | null;
  /** The `now` of the last step; a step older than it is ignored. */
  evaluatedAt: number;
}

/** A rule's state as stored (`alert_states`): the machine's state plus what a dashboard's alerts snapshot shows. */
export interface AlertStateDoc extends AlertState {
  _id: string;
  projectId: string;
  ruleId: string;
  name: string;
  updatedAt: Date;
}

/** One notification (firing or resolved, `alert_firings`): the alert history, and the outbox of its deliveries. */
export interface FiringDoc {
  _id: string;
  projectId: string;
  ruleId: string;
  state: 'firing' | 'resolved';
  /** The message sent to dashboards and webhooks. */
  alert: Record<string, unknown>;
  at: Date;
  /** Set once the dashboards' message and the webhook delivery are queued. */
  notified: boolean;
  expireAt: Date;
}

/** `cancelled`: its rule was deleted, disabled or given another webhook before it was delivered. */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'cancelled';

export interface DeliveryAttempt {
  at: Date;
  /** The HTTP status, when the endpoint answered. */
  status?: number;
  /** Why there was no answer (timeout, connection refused, ...). */
  error?: string;
  ms: number;
}

/** One webhook delivery (`alert_deliveries`: alerts/webhook-outbox.ts; alerts/webhook-deliveries.ts sends them). */
export interface DeliveryDoc {
  /** Given by the caller and deterministic (e.g. `<ruleId>:<firing>:<state>:webhook`), so enqueueing twice queues once. */
  _id: string;
  projectId: string;
  ruleId: string;
  url: string;
  secret: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  nextAttemptAt: Date;
  /** Set while a worker holds the delivery; informational (the claims collection decides who holds it). */
  lockedUntil: Date | null;
  createdAt: Date;
  deliveredAt?: Date;
  expireAt: Date;
}

/** What the API shows: everything but the signing secret. */
export type DeliveryView = Omit<DeliveryDoc, 'secret'>;

export interface HistoryQuery {
  ruleId?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

export class AlertStore {
  readonly rules: Collection<AlertRule>;
  readonly states: Collection<AlertStateDoc>;
  readonly firings: Collection<FiringDoc>;
  readonly deliveries: Collection<DeliveryDoc>;

  constructor(db: Db) {
    this.rules = db.collection<AlertRule>(ALERT_COLLECTIONS.rules);
    this.states = db.collection<AlertStateDoc>(ALERT_COLLECTIONS.states);
    this.firings = db.collection<FiringDoc>(ALERT_COLLECTIONS.firings);
    this.deliveries = db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries);
  }

  /** The states of a project's firing rules, as an alerts snapshot carries them. */
  firingStates(projectId: string): Promise<Omit<AlertStateDoc, '_id'>[]> {
    return this.states.find({ projectId, status: 'firing' }, { projection: { _id: 0 } }).toArray();
  }

  /** A project's notifications, newest first. */
  history(projectId: string, q: HistoryQuery): Promise<FiringDoc[]> {
    const at = q.from === undefined && q.to === undefined ? {} : { at: { ...(q.from === undefined ? {} : { $gte: q.from }), ...(q.to === undefined ? {} : { $lte: q.to }) } };
    return this.firings.find({ projectId, ...(q.ruleId === undefined ? {} : { ruleId: q.ruleId }), ...at }).sort({ at: -1 }).limit(q.limit).toArray();
  }

  /**
   * Stops a rule's deliveries still waiting for an attempt (the rule was deleted,
   * disabled or pointed elsewhere): they are never sent. An attempt under way when this
   * runs is recorded as it ends, but no other follows.
   */
  async cancelPending(projectId: string, ruleId: string): Promise<number> {
    return (await this.deliveries.updateMany({ projectId, ruleId, status: 'pending' }, { $set: { status: 'cancelled' } })).modifiedCount;
  }

  /** A project's webhook deliveries (of one rule, when given), newest first, without their signing secret. */
  deliveriesOf(projectId: string, q: { ruleId?: string; status?: DeliveryStatus; limit: number }): Promise<DeliveryView[]> {
    return this.deliveries
      .find({ projectId, ...(q.ruleId === undefined ? {} : { ruleId: q.ruleId }), ...(q.status === undefined ? {} : { status: q.status }) }, { projection: { secret: 0 } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(q.limit)
      .toArray();
  }
}
