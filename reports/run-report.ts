/**
 * Runs a report definition (docs/reports.md): resolves its range when it runs, loads the
 * UTC days it reads (segments, persons), computes the kind, and keeps the result in Redis
 * keyed by the definition, the resolved range and the days' counters, so the same
 * question over unchanged events is one read (the warm path).
 */
import { createHash } from 'node:crypto';
import { SignalboardError } from '../core/errors.js';
import type { Redis } from '../core/redis.js';
import { reportIntervals, resolveReportRange, type ReportDefinition, type ReportLimits, type ReportRange } from '../model/report-definition.js';
import { localDate, localMidnight } from '../model/report-time.js';
import { dayNumber } from '../model/time-buckets.js';
import { reportData } from './report-data.js';
import type { SegmentStore } from './segment-store.js';
import { runStickiness, type StickinessResult } from './stickiness.js';
import { lookbackDays, runTrends, type TrendsResult } from './trends.js';

export type ReportResult = TrendsResult | StickinessResult;

export interface ReportRun {
  result: ReportResult;
  /** What the result covers: the range, and that it holds every event stored when it ran. */
  range: { from: string; to: string; timezone: string };
  computedAt: string;
  cached: boolean;
}

export interface ReportRunner {
  run(projectId: string, definition: ReportDefinition, now: number): Promise<ReportRun>;
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
  const days = Math.round((Date.UTC(last.year, last.month - 1, last.day) - Date.UTC(first.year, first.month - 1, first.day)) / 86_400_000) + 1;
  return { from: localMidnight(first.year, first.month, first.day - days, range.timezone), to: range.from, timezone: range.timezone };
}

/** The UTC days a report over `range` reads, with `before` days of look-back. */
function daysOf(range: Pick<ReportRange, 'from' | 'to'>, before: number): number[] {
  const days: number[] = [];
  for (let d = dayNumber(range.from) - before; d <= dayNumber(range.to - 1); d++) days.push(d);
  return days;
}

export function reportRunner(store: SegmentStore, redis: Redis, prefix: string, limits: ReportLimits, resultTtlSeconds: number): ReportRunner {
  return {
    async run(projectId, definition, now) {
      const range = resolveReportRange(definition, now);
      if (definition.kind !== 'trends' && definition.kind !== 'stickiness') throw new SignalboardError('SB_PARAM_INVALID', `kind: ${definition.kind} reports are not available yet (trends and stickiness are)`);
      const starts = reportIntervals(range, definition.interval, limits);
      if (typeof starts === 'string') throw new SignalboardError('SB_PARAM_INVALID', starts);
      const previous = definition.kind === 'trends' && definition.compare ? previousPeriod(range) : undefined;
      const previousStarts = previous === undefined ? undefined : reportIntervals(previous, definition.interval, { ...limits, maxIntervals: limits.maxIntervals + 2 });
      if (typeof previousStarts === 'string') throw new SignalboardError('SB_PARAM_INVALID', previousStarts);
      const lookback = definition.kind === 'trends' ? Math.max(...definition.series.map((s) => lookbackDays(s.math))) + 1 : 0;
      const days = [...new Set([...(previous === undefined ? [] : daysOf(previous, lookback)), ...daysOf(range, lookback)])].sort((a, b) => a - b);

      const versions = await store.versions(projectId, days);
      const question = JSON.stringify([definition, range.from, definition.last === undefined ? range.to : Math.floor(range.to / 1000)]);
      const stamp = JSON.stringify([versions.epoch, versions.links, [...versions.days]]);
      const key = `${prefix}:reportresult:{${projectId}}:${createHash('sha256').update(question).update('\u0000').update(stamp).digest('base64url')}`;
      const covers = { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), timezone: range.timezone };
      const cached = await redis.get(key);
      if (cached !== null) return { ...(JSON.parse(cached) as Omit<ReportRun, 'cached'>), cached: true };

      const loaded = await store.load(projectId, days, versions);
      const data = reportData(loaded.segments, loaded.persons);
      const result =
        definition.kind === 'trends' ? runTrends(definition, data, range, starts, previous === undefined ? undefined : { range: previous, starts: previousStarts! })
        : runStickiness(definition, data, range, starts);
      const run = { result, range: covers, computedAt: new Date(now).toISOString() };
      await redis.set(key, JSON.stringify(run), 'EX', resultTtlSeconds);
      return { ...run, cached: false };
    },
  };
}

/** The limits reports take from the configuration. */
export function reportLimits(config: { REPORTS_MAX_RANGE_DAYS: number; REPORTS_MAX_INTERVALS: number }): ReportLimits {
  return { maxRangeDays: config.REPORTS_MAX_RANGE_DAYS, maxIntervals: config.REPORTS_MAX_INTERVALS };
}
