import { z } from 'zod';
import { GRANULARITY_MS } from './time-buckets.js';

/**
 * Alert rules: the body of POST/PUT /v1/alerts, shared by the api (CRUD) and the
 * alerts role (evaluation). Durations keep the text the user wrote, for display,
 * beside their value in ms (`windowMs`, `forMs`, `resolveAfterMs`) for the evaluator.
 */
export const ALERT_COLLECTIONS = { rules: 'alert_rules', states: 'alert_states', firings: 'alert_firings', deliveries: 'alert_deliveries' } as const;

export type ThresholdOp = '>' | '>=' | '<' | '<=';
export type AnomalyDirection = 'up' | 'down' | 'both';

/** Events named `event` per minute, optionally only those whose dimensions equal `where`. */
export interface CountMetric {
  type: 'count';
  event: string;
  where?: Record<string, string>;
}

/** Distinct users seen in the last 5 minutes: a gauge, so it has no window. */
export interface ActiveUsersNowMetric {
  type: 'activeUsersNow';
}

export type AlertMetric = CountMetric | ActiveUsersNowMetric;

/** `window`/`windowMs` are set for count metrics and absent for activeUsersNow. */
export interface ThresholdCondition {
  kind: 'threshold';
  op: ThresholdOp;
  value: number;
  hysteresis: number;
  window?: string;
  windowMs?: number;
}

/** Count metrics only: compares the current window with the `baselineWindows` windows before it. */
export interface AnomalyCondition {
  kind: 'anomaly';
  window: string;
  windowMs: number;
  baselineWindows: number;
  zScore: number;
  minVolume: number;
  direction: AnomalyDirection;
}

export type AlertCondition = ThresholdCondition | AnomalyCondition;

/** A parsed POST/PUT /v1/alerts body. */
export interface AlertRuleInput {
  name: string;
  enabled: boolean;
  metric: AlertMetric;
  condition: AlertCondition;
  for: string;
  forMs: number;
  resolveAfter: string;
  resolveAfterMs: number;
  webhook?: { url: string };
}

/** A rule as stored in ALERT_COLLECTIONS.rules. */
export interface AlertRule extends AlertRuleInput {
  _id: string;
  projectId: string;
  webhookSecret?: string;
  createdAt: Date;
  updatedAt: Date;
}

const MINUTE_MS = GRANULARITY_MS.minute;
// Minute rollups are kept at least a day (EXPIRY_MINUTE_DAYS >= 1), so no rule may look further back.
const MAX_HISTORY_MS = GRANULARITY_MS.day;
// Rollups count each dimension on its own, not their combinations: one filter per rule.
const MAX_WHERE_KEYS = 1;
const UNIT_MS = { s: 1000, m: MINUTE_MS, h: GRANULARITY_MS.hour } as const;
const DURATION = /^(\d+)(s|m|h)$/;

function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

/** Milliseconds of a duration such as "30s", "5m" or "1h"; throws a RangeError on anything else. */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw new RangeError(`${JSON.stringify(text)} is not a duration: write digits then s, m or h, like "5m"`);
  return ms;
}

function formatMs(ms: number): string {
  if (ms % UNIT_MS.h === 0 && ms > 0) return `${ms / UNIT_MS.h}h`;
  return ms % MINUTE_MS === 0 && ms > 0 ? `${ms / MINUTE_MS}m` : `${ms / 1000}s`;
}

function duration(minMs: number, maxMs: number, wholeMinutes: boolean) {
  return z.string().superRefine((text, ctx) => {
    const ms = durationMs(text);
    const problem =
      ms === undefined
        ? 'must be a duration like "30s", "5m" or "1h"'
        : ms < minMs || ms > maxMs
          ? `must be from ${formatMs(minMs)} to ${formatMs(maxMs)}`
          : wholeMinutes && ms % MINUTE_MS !== 0
            ? 'must be whole minutes'
            : undefined;
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem}, got ${JSON.stringify(text)}` });
  });
}

const windowDuration = duration(MINUTE_MS, MAX_HISTORY_MS, true);
const holdDuration = duration(0, MAX_HISTORY_MS, false);

function whereSchema(dimensions: readonly string[]) {
  const allowed = dimensions.length > 0 ? dimensions.join(', ') : 'none (AGGREGATOR_DIMENSIONS is empty)';
  // Keys are checked on the raw object: z.record would silently drop a "__proto__" key.
  return z
    .unknown()
    .superRefine((raw, ctx) => {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return; // the record schema reports it
      const keys = Object.keys(raw);
      if (keys.length > MAX_WHERE_KEYS) ctx.addIssue({ code: 'custom', message: `may filter on one dimension (rollups count each dimension on its own, not combinations), got ${keys.length}` });
      for (const key of keys) {
        if (!dimensions.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(key)} is not a dimension; allowed: ${allowed}` });
      }
    })
    .pipe(z.record(z.string(), z.string().min(1, 'must not be empty').max(100)));
}

/**
 * The zod schema of a POST/PUT /v1/alerts body, for the configured
 * AGGREGATOR_DIMENSIONS. Build it once at start-up and reuse it.
 */
export function alertRuleInput(dimensions: readonly string[]) {
  const metric = z.discriminatedUnion('type', [
    z.object({ type: z.literal('count'), event: z.string().min(1, 'must not be empty').max(200), where: whereSchema(dimensions).optional() }),
    z.object({ type: z.literal('activeUsersNow') }),
  ]);
  const condition = z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('threshold'),
      op: z.enum(['>', '>=', '<', '<=']),
      value: z.number().min(0),
      window: windowDuration.optional(),
      hysteresis: z.number().min(0).default(0),
    }),
    z.object({
      kind: z.literal('anomaly'),
      window: windowDuration,
      baselineWindows: z.number().int().min(3).max(168).default(12),
      zScore: z.number().positive().max(100).default(3),
      minVolume: z.number().min(0).default(10),
      direction: z.enum(['up', 'down', 'both']).default('both'),
    }),
  ]);
  return z
    .object({
      name: z.string().trim().min(1, 'must not be empty').max(200),
      enabled: z.boolean().default(true),
      metric,
      condition,
      for: holdDuration.default('0s'),
      resolveAfter: holdDuration.default('1m'),
      webhook: z.object({ url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000, 'must be at most 2000 characters') }).optional(),
    })
    .superRefine((v, ctx) => {
      const c = v.condition;
      if (v.metric.type === 'count' && c.window === undefined) {
        ctx.addIssue({ code: 'custom', path: ['condition', 'window'], message: 'is required for count metrics' });
      }
      if (v.metric.type === 'activeUsersNow' && c.kind === 'anomaly') {
        ctx.addIssue({ code: 'custom', path: ['condition', 'kind'], message: 'anomaly needs a count metric; activeUsersNow supports only threshold' });
      } else if (v.metric.type === 'activeUsersNow' && c.window !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['condition', 'window'], message: 'must be absent for activeUsersNow: it is a gauge of the last 5 minutes' });
      }
      if (c.kind === 'anomaly' && parseDuration(c.window) * (c.baselineWindows + 1) > MAX_HISTORY_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['condition', 'window'],
          message: `window × (baselineWindows + 1) must be at most 24h, got ${c.window} × ${c.baselineWindows + 1}; shorten the window or lower baselineWindows`,
        });
      }
    })
    .transform(({ condition: c, ...v }): AlertRuleInput => ({
      ...v,
      condition:
        c.kind === 'anomaly' ? { ...c, windowMs: parseDuration(c.window) } : c.window === undefined ? c : { ...c, windowMs: parseDuration(c.window) },
      forMs: parseDuration(v.for),
      resolveAfterMs: parseDuration(v.resolveAfter),
    }));
}

/** How many trailing minute buckets evaluating the rule reads (0 for a gauge). */
export function historyMinutes(rule: Pick<AlertRuleInput, 'metric' | 'condition'>): number {
  const c = rule.condition;
  if (rule.metric.type === 'activeUsersNow' || c.windowMs === undefined) return 0;
  const windows = c.kind === 'anomaly' ? c.baselineWindows + 1 : 1;
  return (c.windowMs / MINUTE_MS) * windows;
}
