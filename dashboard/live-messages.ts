/**
 * The server messages of /v1/live (docs/realtime.md) as the dashboard reads them. A
 * message that does not have the shape its type promises is dropped (undefined), so a
 * newer server's extra message types, or a garbled one, never break the page.
 */

export const CHANNELS = ['events', 'activeUsers', 'retention', 'alerts'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface MinuteCount {
  event: string;
  bucket: string;
  count: number;
}

export interface Cohort {
  cohort: string;
  size: number;
  retained: number[];
}

export interface ActiveUsersFigures {
  date: string;
  now: number;
  dau: number;
  wau: number;
  mau: number;
}

/** A firing rule as the alerts snapshot lists it (alert_states). */
export interface FiringState {
  ruleId: string;
  name: string;
  since: number;
  value: number | null;
  firings: number;
}

/** An alert: the WebSocket `alert` message, a history entry, a webhook body. */
export interface Alert {
  id: string;
  ruleId: string;
  name: string;
  state: 'firing' | 'resolved';
  value: number | null;
  at: string;
  firing: number;
}

export type ServerMessage =
  | { type: 'welcome'; project: string }
  | { type: 'subscribed'; seq: number; epoch: string | null; resumed: boolean; reason?: string }
  | { type: 'sync'; seq: number; epoch: string | null }
  | { type: 'pong'; seq: number | null; time: number }
  | { type: 'error'; error: { code: string; message: string } }
  | { type: 'snapshot'; channel: 'events'; seq: number; from: string; counts: MinuteCount[]; reason?: string }
  | { type: 'snapshot'; channel: 'retention'; seq: number; from: string; cohorts: Cohort[]; reason?: string }
  | ({ type: 'snapshot' | 'delta'; channel: 'activeUsers'; seq: number } & ActiveUsersFigures)
  | { type: 'snapshot'; channel: 'alerts'; seq: number; firing: FiringState[] }
  | { type: 'delta'; channel: 'events'; seq: number; event: string; bucket: string; increment: number }
  | { type: 'delta'; channel: 'retention'; seq: number; cohort: string; offset: number; increment: number }
  | ({ type: 'alert'; channel: 'alerts'; seq: number } & Alert);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isEpoch = (v: unknown): v is string | null => v === null || isString(v);
const isCount = (v: unknown): boolean => isObject(v) && isString(v.event) && isString(v.bucket) && isNumber(v.count);
const isCohort = (v: unknown): boolean => isObject(v) && isString(v.cohort) && isNumber(v.size) && Array.isArray(v.retained) && v.retained.every(isNumber);
const isFiring = (v: unknown): boolean => isObject(v) && isString(v.ruleId) && isString(v.name) && isNumber(v.since);
const isGauges = (m: Json): boolean => isString(m.date) && isNumber(m.now) && isNumber(m.dau) && isNumber(m.wau) && isNumber(m.mau);

export function isAlert(v: unknown): v is Alert {
  return isObject(v) && isString(v.id) && isString(v.ruleId) && isString(v.name) && (v.state === 'firing' || v.state === 'resolved') && isString(v.at);
}

/** One message from its text, or undefined when it is not one the dashboard knows. */
export function parseServerMessage(text: string): ServerMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(m) || !isString(m.type)) return undefined;
  const ok = (valid: boolean) => (valid ? (m as ServerMessage) : undefined);
  switch (m.type) {
    case 'welcome':
      return ok(isString(m.project));
    case 'subscribed':
      return ok(isNumber(m.seq) && isEpoch(m.epoch) && typeof m.resumed === 'boolean');
    case 'sync':
      return ok(isNumber(m.seq) && isEpoch(m.epoch));
    case 'pong':
      return ok(isNumber(m.time));
    case 'error':
      return ok(isObject(m.error) && isString(m.error.code) && isString(m.error.message));
    case 'alert':
      return ok(m.channel === 'alerts' && isAlert(m));
    case 'snapshot':
    case 'delta':
      break;
    default:
      return undefined;
  }
  const snapshot = m.type === 'snapshot';
  switch (m.channel) {
    case 'events':
      return ok(snapshot ? isString(m.from) && Array.isArray(m.counts) && m.counts.every(isCount) : isString(m.event) && isString(m.bucket) && isNumber(m.increment));
    case 'retention':
      return ok(snapshot ? isString(m.from) && Array.isArray(m.cohorts) && m.cohorts.every(isCohort) : isString(m.cohort) && isNumber(m.offset) && isNumber(m.increment));
    case 'activeUsers':
      return ok(isGauges(m));
    case 'alerts':
      return ok(snapshot && Array.isArray(m.firing) && m.firing.every(isFiring));
    default:
      return undefined;
  }
}
