/**
 * A report's definition (docs/reports.md; the contract's "Reports"): what
 * `POST /v1/reports/query` takes and a saved report stores. Validated strictly, so an
 * unknown kind, field or operator is a 400 naming it, and normalized (defaults filled
 * in). Its range is resolved when the report runs (`resolveReportRange`), so a saved
 * `"last": "7d"` report is always the last 7 days.
 */
import { z } from 'zod';
import { parseFormula, FormulaError } from './report-formula.js';
import { intervalStarts, isTimeZone, localDate, localMidnight, type ReportInterval } from './report-time.js';
import { GRANULARITY_MS, parseDay } from './time-buckets.js';

export interface ReportLimits {
  /** The longest range a report may span, in days (raw events are kept EXPIRY_RAW_DAYS). */
  maxRangeDays: number;
  /** The most intervals one series may have (minute and hour intervals over long ranges). */
  maxIntervals: number;
}

export const MATHS = ['total', 'users', 'wau', 'mau', 'sum', 'avg', 'min', 'max', 'median', 'p90', 'p99'] as const;
/** Maths over a numeric property, which they need. */
const PROPERTY_MATHS: ReadonlySet<string> = new Set(['sum', 'avg', 'min', 'max', 'median', 'p90', 'p99']);
export const FILTER_OPS = ['eq', 'neq', 'contains', 'not_contains', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'is_set', 'is_not_set'] as const;
const INTERVALS = ['minute', 'hour', 'day', 'week', 'month'] as const;
const MAX_SERIES = 10;
const MAX_FILTERS = 20;
const MAX_IN_VALUES = 100;
const SERIES_NAMES = 'ABCDEFGHIJ';
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
const LAST = /^([1-9]\d{0,4})(m|h|d|w)$/;
const LAST_UNIT_MS = { m: GRANULARITY_MS.minute, h: GRANULARITY_MS.hour, d: GRANULARITY_MS.day, w: 7 * GRANULARITY_MS.day } as const;

/**
 * A property a filter or breakdown reads: a key of `properties`, or `context.<key>` of
 * `context`. Keys are stored as sent but for `$` and `.` (escaped at ingest), so a name
 * that starts with `$` or is `__proto__` names nothing a report can read.
 */
const property = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .superRefine((name, ctx) => {
    const key = name.startsWith('context.') ? name.slice('context.'.length) : name;
    const problem =
      key === '' ? 'names no key after "context."'
      : key.startsWith('$') ? 'must not start with "$"'
      : key === '__proto__' ? 'must not be "__proto__"'
      : key.includes('\u0000') ? 'must not contain NUL'
      : undefined;
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem}, got ${JSON.stringify(name.slice(0, 60))}` });
  });

const scalar = z.union([z.string().max(1000), z.number(), z.boolean()]);

const filter = z
  .strictObject({ property, op: z.enum(FILTER_OPS), value: z.unknown().optional() })
  .superRefine(({ op, value }, ctx) => {
    const need = (ok: boolean, what: string) => ok || ctx.addIssue({ code: 'custom', path: ['value'], message: `${op} needs ${what}` });
    if (op === 'is_set' || op === 'is_not_set') need(value === undefined, 'no value');
    else if (op === 'in' || op === 'not_in') need(Array.isArray(value) && value.length >= 1 && value.length <= MAX_IN_VALUES && value.every((v) => scalar.safeParse(v).success), `a list of 1 to ${MAX_IN_VALUES} strings, numbers or booleans`);
    else if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') need(typeof value === 'number' && Number.isFinite(value), 'a number');
    else if (op === 'contains' || op === 'not_contains') need(typeof value === 'string' && value.length > 0 && value.length <= 1000, 'a non-empty string');
    else need(value === null || scalar.safeParse(value).success, 'a string, a number, a boolean or null');
  });

const filters = z.array(filter).max(MAX_FILTERS, `must hold at most ${MAX_FILTERS} filters`).optional();
const eventName = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const eventRef = z.strictObject({ event: eventName, filters });

const range = {
  from: z.string().optional(),
  to: z.string().optional(),
  last: z.string().optional(),
  timezone: z.string().default('UTC'),
};

const series = z
  .strictObject({ event: eventName, math: z.enum(MATHS).default('total'), property: property.optional(), filters })
  .superRefine((s, ctx) => {
    if (PROPERTY_MATHS.has(s.math) && s.property === undefined) ctx.addIssue({ code: 'custom', path: ['property'], message: `is required for math ${s.math} (a numeric property)` });
    if (!PROPERTY_MATHS.has(s.math) && s.property !== undefined) ctx.addIssue({ code: 'custom', path: ['property'], message: `is only for ${[...PROPERTY_MATHS].join(', ')}; math ${s.math} counts events or persons` });
  });

const trends = z.strictObject({
  kind: z.literal('trends'),
  ...range,
  series: z.array(series).min(1, 'must hold at least one series').max(MAX_SERIES, `must hold at most ${MAX_SERIES} series`),
  interval: z.enum(INTERVALS),
  breakdown: z.strictObject({ property, limit: z.number().int().min(1).max(100).default(25) }).optional(),
  compare: z.boolean().default(false),
  formula: z.string().optional(),
});

const funnel = z.strictObject({
  kind: z.literal('funnel'),
  ...range,
  steps: z.array(eventRef).min(2, 'must hold 2 to 10 steps').max(10, 'must hold 2 to 10 steps'),
  window: z.strictObject({ value: z.number().int().min(1).max(1000), unit: z.enum(['second', 'minute', 'hour', 'day', 'week']) }).default({ value: 14, unit: 'day' }),
  order: z.enum(['ordered', 'strict', 'unordered']).default('ordered'),
  exclusions: z.array(z.strictObject({ event: eventName, filters, fromStep: z.number().int().min(0), toStep: z.number().int().min(1) })).max(10).default([]),
  breakdown: z.strictObject({ property, attribution: z.enum(['first_touch', 'last_touch', 'step']).default('first_touch'), step: z.number().int().min(0).optional() }).optional(),
});

const retention = z.strictObject({
  kind: z.literal('retention'),
  ...range,
  startEvent: eventRef.optional(),
  returnEvent: eventRef.optional(),
  type: z.enum(['recurring', 'first_time']).default('recurring'),
  period: z.enum(['day', 'week', 'month']),
});

const lifecycle = z.strictObject({ kind: z.literal('lifecycle'), ...range, event: eventName, filters, interval: z.enum(INTERVALS) });
const stickiness = z.strictObject({ kind: z.literal('stickiness'), ...range, event: eventName, filters, interval: z.enum(INTERVALS) });

const KINDS = ['trends', 'funnel', 'retention', 'lifecycle', 'stickiness'] as const;

/** A day (`YYYY-MM-DD`) or an instant with its zone; undefined when neither. */
function rangeEnd(text: string): { day: number } | { instant: number } | undefined {
  const day = parseDay(text);
  if (day !== undefined) return { day };
  const instant = ISO_INSTANT.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(instant) ? undefined : { instant };
}

/** The zod schema of a report definition under these limits: build it once and reuse it. */
export function reportDefinition(limits: ReportLimits) {
  return z
    .unknown()
    .superRefine((raw, ctx) => {
      // The kind first, so an unknown one is named rather than five schemas' complaints.
      const kind = typeof raw === 'object' && raw !== null ? (raw as { kind?: unknown }).kind : undefined;
      if (!KINDS.includes(kind as never)) ctx.addIssue({ code: 'custom', path: ['kind'], message: `must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind ?? null)}` });
    })
    .pipe(z.discriminatedUnion('kind', [trends, funnel, retention, lifecycle, stickiness]))
    .superRefine((d, ctx) => {
      const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
      if (!isTimeZone(d.timezone)) issue(['timezone'], `${JSON.stringify(d.timezone)} is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`);
      const maxMs = limits.maxRangeDays * GRANULARITY_MS.day;
      if (d.last !== undefined) {
        if (d.from !== undefined || d.to !== undefined) issue(['last'], 'give either "last" or "from" and "to", not both');
        const match = LAST.exec(d.last);
        if (match === null) issue(['last'], `must be a count and a unit m, h, d or w, like "7d", got ${JSON.stringify(d.last)}`);
        else if (Number(match[1]) * LAST_UNIT_MS[match[2] as keyof typeof LAST_UNIT_MS] > maxMs) issue(['last'], `spans more than ${limits.maxRangeDays} days`);
      } else {
        const from = d.from === undefined ? undefined : rangeEnd(d.from);
        const to = d.to === undefined ? undefined : rangeEnd(d.to);
        if (d.from === undefined || d.to === undefined) issue([d.from === undefined ? 'from' : 'to'], 'is required (or give "last")');
        else if (from === undefined) issue(['from'], `must be a day (YYYY-MM-DD) or an ISO instant with its zone, got ${JSON.stringify(d.from.slice(0, 40))}`);
        else if (to === undefined) issue(['to'], `must be a day (YYYY-MM-DD) or an ISO instant with its zone, got ${JSON.stringify(d.to.slice(0, 40))}`);
        else {
          const [start, end] = [rangeStartUtcApprox(from), rangeEndUtcApprox(to)];
          if (end <= start) issue(['to'], `${d.to} is before ${d.from}`);
          else if (end - start > maxMs + 2 * GRANULARITY_MS.day) issue(['to'], `the range spans more than ${limits.maxRangeDays} days`);
        }
      }
      if (d.kind === 'trends' && d.formula !== undefined) {
        try {
          parseFormula(d.formula, d.series.map((_, i) => SERIES_NAMES[i]!));
        } catch (err) {
          if (!(err instanceof FormulaError)) throw err;
          issue(['formula'], err.message);
        }
      }
      if (d.kind === 'funnel') {
        d.exclusions.forEach((e, i) => {
          if (e.fromStep >= e.toStep || e.toStep >= d.steps.length) issue(['exclusions', i], `fromStep must be before toStep, both steps of the funnel (0 to ${d.steps.length - 1})`);
        });
        const b = d.breakdown;
        if (b !== undefined && b.attribution === 'step' && (b.step === undefined || b.step >= d.steps.length)) issue(['breakdown', 'step'], `is required with attribution "step": a step of the funnel (0 to ${d.steps.length - 1})`);
        if (b !== undefined && b.attribution !== 'step' && b.step !== undefined) issue(['breakdown', 'step'], 'is only for attribution "step"');
      }
    });
}

export type ReportDefinition = z.output<ReturnType<typeof reportDefinition>>;
export type ReportKind = ReportDefinition['kind'];

// For the static span check only: a zone moves an end by less than a day.
function rangeStartUtcApprox(end: { day: number } | { instant: number }): number {
  return 'day' in end ? end.day * GRANULARITY_MS.day : end.instant;
}
function rangeEndUtcApprox(end: { day: number } | { instant: number }): number {
  return 'day' in end ? (end.day + 1) * GRANULARITY_MS.day : end.instant + 1;
}

/** The series' names in a trends report: A, B, C, ... */
export function seriesName(index: number): string {
  return SERIES_NAMES[index]!;
}

/** A report's range as instants: [from, to). */
export interface ReportRange {
  from: number;
  to: number;
  timezone: string;
}

/**
 * The range a definition covers when it runs at `now`: days from local midnight of
 * `from` to the end of `to` in the report's zone; instants as given (`to` inclusive);
 * `"last": "<n>m|h"` the n minutes or hours ending now, `"<n>d|w"` today and the days
 * before it, n days (7n for weeks) in all, from local midnight.
 */
export function resolveReportRange(d: Pick<ReportDefinition, 'from' | 'to' | 'last' | 'timezone'>, now: number): ReportRange {
  const zone = d.timezone;
  if (d.last !== undefined) {
    const [, n, unit] = LAST.exec(d.last)!;
    const count = Number(n);
    if (unit === 'm' || unit === 'h') return { from: now - count * LAST_UNIT_MS[unit], to: now + 1, timezone: zone };
    const days = unit === 'w' ? 7 * count : count;
    const today = localDate(now, zone);
    return { from: localMidnight(today.year, today.month, today.day - days + 1, zone), to: now + 1, timezone: zone };
  }
  const from = rangeEnd(d.from!)!;
  const to = rangeEnd(d.to!)!;
  const dayStart = (day: number, plus: number) => {
    const date = new Date(day * GRANULARITY_MS.day);
    return localMidnight(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate() + plus, zone);
  };
  return {
    from: 'day' in from ? dayStart(from.day, 0) : from.instant,
    to: 'day' in to ? dayStart(to.day, 1) : to.instant + 1,
    timezone: zone,
  };
}

/** The starts of a range's intervals, or a message naming the bound when there would be too many. */
export function reportIntervals(range: ReportRange, interval: ReportInterval, limits: ReportLimits): number[] | string {
  const starts = intervalStarts(range.from, range.to, interval, range.timezone, limits.maxIntervals);
  return starts ?? `interval: ${interval} intervals over this range would be more than ${limits.maxIntervals} points; choose a longer interval or a shorter range`;
}
