/**
 * Runs a report definition (docs/reports.md): resolves its range when it runs, loads the
 * UTC days it reads (segments, persons), computes the kind, and keeps the result in Redis
 * keyed by the definition, the resolved range and the days' counters, so the same
 * question over unchanged events is one read (the warm path).
 */
import { createHash } from 'node:crypto';
import { SignalboardError } from '../core/errors.js';
import type { Config } from '../core/config.js';
import type { Redis } from '../core/redis.js';
import { reportIntervals, resolveReportRange, type ReportDefinition, type ReportLimits, type ReportRange } from '../model/report-definition.js';
import { intervalStart, localDate, localMidnight, type ReportInterval } from '../model/report-time.js';
import { dayNumber, GRANULARITY_MS } from '../model/time-buckets.js';
import { funnelWindowMs, runFunnel, type FunnelResult } from './funnel.js';
import { readRawDayVersions } from '../live/raw-day-versions.js';
import { reportData, type ReportData } from './report-data.js';
import type { SegmentStore } from './segment-store.js';
import { runLifecycle, runRetention, type LifecycleResult, type RetentionResult } from './retention.js';
import { runStickiness, type StickinessResult } from './stickiness.js';
import { lookbackDays, runTrends, type TrendsResult } from './trends.js';

export type ReportResult = TrendsResult | StickinessResult | FunnelResult | RetentionResult | LifecycleResult;

export interface ReportRun {
  result: ReportResult;
  /** What the result covers: the range, and that it holds every event stored when it ran. */
  range: { from: string; to: string; timezone: string };
  computedAt: string;
  cached: boolean;
}

export interface ReportRunner {
  /** `deadline` (epoch ms): when the report is stopped; by default REPORTS_TIMEOUT_MS from now. */
  run(projectId: string, definition: ReportDefinition, now: number, deadline?: number): Promise<ReportRun>;
}

/**
 * The period before a range, of the same length: a range starting at local midnight
 * ("last": "7d", days) is compared with as many whole local days before it (today so
 * far is compared with a whole day, as PostHog does); any other with the same span.
 */
export function previousPeriod(range: ReportRange): ReportRange {
  const first = localDate(range.from, range.timezone);
  if (localMidnight(first.year, first.month, first.day, range.timezone) !== range.from) return { from: range.from - (range.to - range.from), to: range.from, timezone: range.timezone };
  const last = localDate(range.to - 1, range.timezone);
  const days = Math.round((Date.UTC(last.year, last.month - 1, last.day) - Date.UTC(first.year, first.month - 1, first.day)) / GRANULARITY_MS.day) + 1;
  return { from: localMidnight(first.year, first.month, first.day - days, range.timezone), to: range.from, timezone: range.timezone };
}

/** The UTC days a report over `range` reads, with `before` days of look-back. */
function daysOf(range: Pick<ReportRange, 'from' | 'to'>, before: number): number[] {
  const days: number[] = [];
  for (let d = dayNumber(range.from) - before; d <= dayNumber(range.to - 1); d++) days.push(d);
  return days;
}

/** What running a definition needs: the UTC days it reads, and the computation over them. */
interface ReportPlan {
  days: number[];
  compute(data: ReportData): ReportResult;
}

/** Intervals of a range, or a 400 naming the bound. */
function intervalsOf(range: ReportRange, interval: ReportInterval, limits: ReportLimits): number[] {
  const starts = reportIntervals(range, interval, limits);
  if (typeof starts === 'string') throw new SignalboardError('SB_PARAM_INVALID', starts);
  return starts;
}

/**
 * `historyDays`: how far back "ever" reaches (the raw-event retention): first-time
 * retention and lifecycle's "new" look for each person's first event from there.
 */
export function planReport(definition: ReportDefinition, range: ReportRange, now: number, limits: ReportLimits, historyDays: number): ReportPlan {
  const history = historyStart(now, historyDays);
  switch (definition.kind) {
    case 'trends': {
      const starts = intervalsOf(range, definition.interval, limits);
      const previous = definition.compare ? previousPeriod(range) : undefined;
      const previousStarts = previous === undefined ? undefined : intervalsOf(previous, definition.interval, { ...limits, maxIntervals: limits.maxIntervals + 2 });
      const lookback = Math.max(...definition.series.map((s) => lookbackDays(s.math))) + 1;
      return {
        days: [...new Set([...(previous === undefined ? [] : daysOf(previous, lookback)), ...daysOf(range, lookback)])].sort((a, b) => a - b),
        compute: (data) => runTrends(definition, data, range, starts, previous === undefined ? undefined : { range: previous, starts: previousStarts! }),
      };
    }
    case 'stickiness': {
      const starts = intervalsOf(range, definition.interval, limits);
      return { days: daysOf(range, 0), compute: (data) => runStickiness(definition, data, range, starts) };
    }
    case 'funnel':
      // Later steps may fall after `to`, within the window of an attempt that started inside the range.
      return { days: daysOf({ from: range.from, to: Math.min(range.to + funnelWindowMs(definition), now + 1) }, 0), compute: (data) => runFunnel(definition, data, range) };
    case 'retention': {
      const starts = intervalsOf(range, definition.period, limits);
      const from = definition.type === 'first_time' ? history : range.from;
      return { days: daysOf({ from, to: range.to }, 0), compute: (data) => runRetention(definition, data, range, starts, from) };
    }
    case 'lifecycle': {
      // The interval before the range too: who was active in it decides returning and dormant in the first one.
      const before = intervalStart(intervalStart(range.from, definition.interval, range.timezone) - 1, definition.interval, range.timezone);
      const starts = intervalsOf({ ...range, from: before }, definition.interval, { ...limits, maxIntervals: limits.maxIntervals + 1 });
      return { days: daysOf({ from: Math.min(history, before), to: range.to }, 0), compute: (data) => runLifecycle(definition, data, range, starts, Math.min(history, before)) };
    }
  }
}

/** The UTC midnight `days` days before `now`'s UTC day: where stored history begins. */
function historyStart(now: number, days: number): number {
  return (dayNumber(now) - days) * GRANULARITY_MS.day;
}

export interface ReportSettings {
  limits: ReportLimits;
  /** How far back "ever" reaches: the raw-event retention (EXPIRY_RAW_DAYS). */
  historyDays: number;
  resultTtlSeconds: number;
  /** The most stored events one report may read. */
  maxEvents: number;
  timeoutMs: number;
}

/**
 * A definition's plan, the counters of the days it reads, its result's key and, when the
 * same question over the same events was answered within REPORTS_RESULT_TTL_SECONDS, that
 * result. Two Redis reads: the api's main thread answers a cached report without waiting
 * for the report thread.
 */
export async function lookUpResult(redis: Redis, prefix: string, settings: ReportSettings, projectId: string, definition: ReportDefinition, now: number) {
  const range = resolveReportRange(definition, now);
  const plan = planReport(definition, range, now, settings.limits, settings.historyDays);
  const versions = await readRawDayVersions(redis, prefix, projectId, plan.days);
  const question = JSON.stringify([definition, range.from, definition.last === undefined ? range.to : Math.floor(range.to / 1000)]);
  const stamp = JSON.stringify([versions.epoch, versions.links, [...versions.days]]);
  const key = `${prefix}:reportresult:{${projectId}}:${createHash('sha256').update(question).update('\u0000').update(stamp).digest('base64url')}`;
  const text = await redis.get(key);
  const cached: ReportRun | undefined = text === null ? undefined : { ...(JSON.parse(text) as Omit<ReportRun, 'cached'>), cached: true };
  return { range, plan, versions, key, cached };
}

export function reportRunner(store: SegmentStore, redis: Redis, prefix: string, settings: ReportSettings): ReportRunner {
  return {
    async run(projectId, definition, now, deadline = Date.now() + settings.timeoutMs) {
      const checkTime = () => {
        if (Date.now() > deadline) throw new SignalboardError('SB_REPORT_TIMEOUT', `the report did not finish within ${settings.timeoutMs} ms (REPORTS_TIMEOUT_MS, waiting behind other reports included) and was stopped; the days it read stay in memory, so a retry is often faster; else narrow the range`);
      };
      const { range, plan, versions, key, cached } = await lookUpResult(redis, prefix, settings, projectId, definition, now);
      if (cached !== undefined) return cached;

      const loaded = await store.load(projectId, plan.days, versions, {
        check: (events) => {
          if (events > settings.maxEvents) {
            throw new SignalboardError('SB_PARAM_INVALID', `the report would read more than ${settings.maxEvents} events (REPORTS_MAX_EVENTS) over the ${plan.days.length} days it needs; narrow the range${definition.kind === 'lifecycle' || (definition.kind === 'retention' && definition.type === 'first_time') ? ' (this kind also reads all stored history for first events)' : ''}`);
          }
          checkTime();
        },
      });
      const result = plan.compute(reportData(loaded.segments, loaded.persons, checkTime));
      const run = { result, range: { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), timezone: range.timezone }, computedAt: new Date(now).toISOString() };
      await redis.set(key, JSON.stringify(run), 'EX', settings.resultTtlSeconds);
      return { ...run, cached: false };
    },
  };
}

/** The report settings from the configuration. */
export function reportSettings(config: Pick<Config, 'REPORTS_MAX_RANGE_DAYS' | 'REPORTS_MAX_INTERVALS' | 'EXPIRY_RAW_DAYS' | 'REPORTS_RESULT_TTL_SECONDS' | 'REPORTS_MAX_EVENTS' | 'REPORTS_TIMEOUT_MS'>): ReportSettings {
  return {
    limits: { maxRangeDays: config.REPORTS_MAX_RANGE_DAYS, maxIntervals: config.REPORTS_MAX_INTERVALS },
    historyDays: config.EXPIRY_RAW_DAYS,
    resultTtlSeconds: config.REPORTS_RESULT_TTL_SECONDS,
    maxEvents: config.REPORTS_MAX_EVENTS,
    timeoutMs: config.REPORTS_TIMEOUT_MS,
  };
}
