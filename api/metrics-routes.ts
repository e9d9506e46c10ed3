import type { Db } from 'mongodb';
import { z } from 'zod';
import { COLLECTIONS, COUNT_COLLECTION, type ActivityDoc, type CountDoc, type RetentionDoc } from '../model/collections.js';
import { breakdownDimensions } from '../core/config.js';
import { route } from '../core/http.js';
import { parseQuery } from '../core/params.js';
import { newestRawEvents } from '../model/raw-events.js';
import { findRollups } from '../model/rollup-deltas.js';
import type { Runtime } from '../core/runtime.js';
import { bucketStart, dayNumber, dayToDate, formatDay, GRANULARITY_MS, parseDay, weekNumber, weekStartDay } from '../model/time-buckets.js';
import type { TemplatedApp } from '../core/uws.js';
import { breakdownSeries } from './count-breakdown.js';

const MAX_DAYS = 400;
const MAX_POINTS = 10_000;

const day = z.string().transform((text, ctx) => {
  const parsed = parseDay(text);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a date as YYYY-MM-DD, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return parsed;
});

/** A date-time whose date is a calendar date (Date.parse rolls 2026-02-30 over to March). */
const instant = z.string().transform((text, ctx) => {
  const ms = parseDay(text.slice(0, 10)) !== undefined && (text.length === 10 || text[10] === 'T') ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `must be an ISO-8601 date or date-time, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return ms;
});

function ordered<S extends z.ZodObject<{ from: z.ZodType<number, string>; to: z.ZodType<number, string> }>>(schema: S, limit: (v: z.infer<S>) => string | undefined): S {
  return schema.superRefine((v, ctx) => {
    if (v.to < v.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    const tooLarge = limit(v);
    if (tooLarge !== undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: tooLarge });
  });
}

const activeUsersQuery = ordered(
  z.object({ window: z.enum(['day', 'week', 'month']).default('day'), from: day, to: day }),
  (v) => (v.to - v.from >= MAX_DAYS ? `the range may span at most ${MAX_DAYS} days` : undefined),
);

const retentionQuery = (maxHorizonDays: number) =>
  ordered(
    z.object({
      from: day,
      to: day,
      period: z.enum(['day', 'week']).default('day'),
      horizon: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).optional(),
    }),
    (v) => (v.to - v.from >= MAX_DAYS ? `the range may span at most ${MAX_DAYS} days` : undefined),
  ).superRefine((v, ctx) => {
    const max = v.period === 'day' ? maxHorizonDays : Math.floor(maxHorizonDays / 7);
    if (v.horizon !== undefined && v.horizon > max) ctx.addIssue({ code: 'custom', path: ['horizon'], message: `must be at most ${max} ${v.period}s (RETENTION_HORIZON_DAYS)` });
  });

const MAX_BREAKDOWN_VALUES = 50;

const timeseriesQuery = (dimensions: readonly string[]) =>
  ordered(
    z.object({
      event: z.string().min(1, 'must not be empty').max(200),
      from: instant,
      to: instant,
      granularity: z.enum(['minute', 'hour', 'day']).default('hour'),
      breakdown: z
        .string()
        .refine((d) => dimensions.includes(d), { message: `must be a dimension the aggregator counts: ${dimensions.length > 0 ? dimensions.join(', ') : 'none (AGGREGATOR_DIMENSIONS is empty)'}` })
        .optional(),
      limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_BREAKDOWN_VALUES, `must be at most ${MAX_BREAKDOWN_VALUES}`).default(10),
    }),
  (v) => {
    // The same range rule as the other routes, and a bound on the points.
    if ((v.to - v.from) / GRANULARITY_MS.day >= MAX_DAYS) return `the range may span at most ${MAX_DAYS} days`;
    return (v.to - v.from) / GRANULARITY_MS[v.granularity] >= MAX_POINTS ? `the range holds more than ${MAX_POINTS} ${v.granularity}s; use a coarser granularity` : undefined;
    },
  );

const MAX_NAMES = 1000;
/** A properties listing reads at most this many of the newest events, over at most this many days. */
const PROPERTY_SAMPLE_EVENTS = 10_000;
const PROPERTY_SAMPLE_DAYS = 30;
const MAX_PROPERTY_KEYS = 500;

const propertiesQuery = z.object({ event: z.string().min(1, 'must not be empty').max(200).optional() });

/** A JSON value's type as a picker shows it. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const eventNamesQuery = ordered(
  z.object({
    from: day,
    to: day,
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_NAMES, `must be at most ${MAX_NAMES}`).default(100),
  }),
  (v) => (v.to - v.from >= MAX_DAYS ? `the range may span at most ${MAX_DAYS} days` : undefined),
);

const WINDOW_FIELD = { day: 'dau', week: 'wau', month: 'mau' } as const;

/** A figure is the sum of the documents of its identity (its rollup document and the changes not folded into it yet). */
function sumBy<T>(docs: readonly T[], key: (doc: T) => number, value: (doc: T) => number): Map<number, number> {
  const sums = new Map<number, number>();
  for (const doc of docs) sums.set(key(doc), (sums.get(key(doc)) ?? 0) + value(doc));
  return sums;
}

/** The read side of the aggregator's collections, for read keys: active users, retention, event counts. */
export function registerMetricsRoutes(app: TemplatedApp, rt: Runtime): void {
  const db: Db = rt.mongo.db;

  route(app, rt.logger, 'get', '/v1/metrics/active-users', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const q = parseQuery(activeUsersQuery, req.query);
    const docs = await findRollups<ActivityDoc>(db, COLLECTIONS.activity, { projectId: project.id, day: { $gte: dayToDate(q.from), $lte: dayToDate(q.to) } });
    // A day's document and its changes not folded yet: the day's figure is their sum.
    const byDay = sumBy(docs, (d) => dayNumber(d.day.getTime()), (d) => d[WINDOW_FIELD[q.window]]);
    const series = [];
    for (let d = q.from; d <= q.to; d++) series.push({ date: formatDay(d), users: byDay.get(d) ?? 0 });
    reply.json(200, { series });
  });

  route(app, rt.logger, 'get', '/v1/metrics/retention', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const q = parseQuery(retentionQuery(rt.config.RETENTION_HORIZON_DAYS), req.query);
    const weekly = q.period === 'week';
    const horizon = q.horizon ?? (weekly ? 12 : 30);
    const [first, last] = weekly ? [weekStartDay(weekNumber(q.from)), weekStartDay(weekNumber(q.to))] : [q.from, q.to];
    const docs = await findRollups<RetentionDoc>(db, weekly ? COLLECTIONS.retentionWeekly : COLLECTIONS.retentionDaily, { projectId: project.id, cohort: { $gte: dayToDate(first), $lte: dayToDate(last) } });
    const cells = new Map<number, number[]>();
    for (const d of docs) {
      const row = cells.get(d.cohort.getTime()) ?? new Array<number>(horizon + 1).fill(0);
      for (let k = 0; k <= horizon; k++) row[k]! += d.r[String(k)] ?? 0;
      cells.set(d.cohort.getTime(), row);
    }
    const cohorts = [...cells]
      .filter(([, row]) => row[0]! > 0)
      .sort(([a], [b]) => a - b)
      .map(([cohort, row]) => ({ cohort: formatDay(dayNumber(cohort)), size: row[0]!, retained: row }));
    reply.json(200, { period: q.period, cohorts });
  });

  // The project's event names with their counts over the range, most sent first: for report pickers.
  route(app, rt.logger, 'get', '/v1/events/names', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const q = parseQuery(eventNamesQuery, req.query);
    const docs = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId: project.id, bucket: { $gte: dayToDate(q.from), $lte: dayToDate(q.to) } });
    const counts = new Map<string, number>();
    for (const d of docs) counts.set(d.event, (counts.get(d.event) ?? 0) + d.count);
    const events = [...counts]
      .filter(([, count]) => count > 0)
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, q.limit)
      .map(([name, count]) => ({ name, count }));
    reply.json(200, { from: formatDay(q.from), to: formatDay(q.to), names: counts.size, events });
  });

  // The property keys of the project's newest events (of one name, when asked), with the types seen: for report pickers.
  route(app, rt.logger, 'get', '/v1/properties', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const q = parseQuery(propertiesQuery, req.query);
    const sample = await newestRawEvents(db, project.id, dayNumber(Date.now()), PROPERTY_SAMPLE_DAYS, PROPERTY_SAMPLE_EVENTS, q.event);
    const keys = new Map<string, { count: number; types: Set<string> }>();
    const see = (key: string, value: unknown) => {
      let seen = keys.get(key);
      if (seen === undefined) keys.set(key, (seen = { count: 0, types: new Set() }));
      seen.count++;
      seen.types.add(typeName(value));
    };
    for (const e of sample) {
      for (const [key, value] of Object.entries(e.properties ?? {})) see(key, value);
      for (const [key, value] of Object.entries(e.context)) see(`context.${key}`, value);
    }
    const properties = [...keys]
      .sort(([a, x], [b, y]) => y.count - x.count || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, MAX_PROPERTY_KEYS)
      .map(([key, { count, types }]) => ({ key, types: [...types].sort(), events: count }));
    reply.json(200, { ...(q.event === undefined ? {} : { event: q.event }), sampled: sample.length, properties });
  });

  const timeseries = timeseriesQuery(breakdownDimensions(rt.config));
  route(app, rt.logger, 'get', '/v1/metrics/timeseries', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const q = parseQuery(timeseries, req.query);
    const first = bucketStart(q.from, q.granularity);
    const last = bucketStart(q.to, q.granularity);
    const docs = await findRollups<CountDoc>(db, COUNT_COLLECTION[q.granularity], { projectId: project.id, event: q.event, bucket: { $gte: new Date(first), $lte: new Date(last) } });
    const byBucket = sumBy(docs, (d) => d.bucket.getTime(), (d) => d.count);
    const buckets: number[] = [];
    for (let t = first; t <= last; t += GRANULARITY_MS[q.granularity]) buckets.push(t);
    const times = buckets.map((t) => new Date(t).toISOString());
    const points = buckets.map((t, i) => ({ t: times[i]!, count: byBucket.get(t) ?? 0 }));
    if (q.breakdown === undefined) return reply.json(200, { points });
    const values = breakdownSeries(docs, q.breakdown, buckets, q.limit).map((s) => ({ value: s.value, total: s.total, points: s.counts.map((count, i) => ({ t: times[i]!, count })) }));
    reply.json(200, { points, breakdown: { dimension: q.breakdown, values } });
  });
}
