/**
 * Trends (docs/reports.md#trends): per series and interval a count of events, of
 * distinct persons (`users`), of persons active in the 7 or 30 days ending with the
 * interval (`wau`, `mau`), or a statistic of a numeric property; a breakdown, the
 * previous period, a formula over the series. Pure.
 */
import { evaluateFormula, parseFormula } from '../model/report-formula.js';
import { seriesName, type ReportDefinition, type ReportRange } from '../model/report-definition.js';
import { localDate, localMidnight, nextIntervalStart, type ReportInterval } from '../model/report-time.js';
import { GRANULARITY_MS } from '../model/time-buckets.js';
import { groupRows } from './day-segment.js';
import { OTHER_LABEL, selectRows, type ReportData, type SelectedRows } from './report-data.js';

type TrendsDefinition = Extract<ReportDefinition, { kind: 'trends' }>;
type Math = TrendsDefinition['series'][number]['math'];

export interface TrendsRow {
  series: string;
  label: string;
  breakdown?: string;
  period: 'current' | 'previous';
  values: Array<number | null>;
  total: number | null;
}

export interface TrendsResult {
  intervals: string[];
  results: TrendsRow[];
}

/** The days before the range a series' math reads: wau and mau count persons active up to 7 or 30 days back. */
export function lookbackDays(math: Math): number {
  return math === 'wau' ? 7 : math === 'mau' ? 30 : 0;
}

/** The index of the interval holding `t` (starts ascending), or -1 before the first. */
export function intervalIndex(starts: readonly number[], t: number): number {
  if (starts.length === 0 || t < starts[0]!) return -1;
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= t) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Linear interpolation between closest ranks (DuckDB's quantile_cont, numpy's default). */
export function quantile(sorted: Float64Array | readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

const QUANTILES: Partial<Record<Math, number>> = { median: 0.5, p90: 0.9, p99: 0.99 };

/** A numeric statistic of some values; empty gives 0 for sum (PostHog shows 0) and null for the others. */
function statistic(math: Math, values: number[]): number | null {
  if (math === 'sum') return values.reduce((a, b) => a + b, 0);
  if (values.length === 0) return null;
  if (math === 'avg') return values.reduce((a, b) => a + b, 0) / values.length;
  if (math === 'min') return values.reduce((a, b) => Math.min(a, b));
  if (math === 'max') return values.reduce((a, b) => Math.max(a, b));
  return quantile(Float64Array.from(values).sort(), QUANTILES[math]!);
}

interface Period {
  from: number;
  to: number;
  starts: readonly number[];
  interval: ReportInterval;
  timezone: string;
}

/** The first instant of the 7- or 30-day window ending with the interval that ends at `end`. */
function windowStart(end: number, days: number, interval: ReportInterval, timezone: string): number {
  if (interval === 'minute' || interval === 'hour') return end - days * GRANULARITY_MS.day;
  const last = localDate(end - 1, timezone);
  return localMidnight(last.year, last.month, last.day - days + 1, timezone);
}

/**
 * One series' values per interval and its total, over the rows `subset` holds (a
 * breakdown's value: row indexes in time order), or all; `rows` hold the lookback before
 * the period for wau and mau.
 */
function aggregate(math: Math, rows: SelectedRows, subset: Int32Array | undefined, period: Period, personCount: number): { values: Array<number | null>; total: number | null } {
  const size = subset === undefined ? rows.time.length : subset.length;
  const row = subset === undefined ? (j: number) => j : (j: number) => subset[j]!;
  const n = period.starts.length;
  const ends = period.starts.map((_, k) => (k + 1 < n ? period.starts[k + 1]! : nextIntervalStart(period.starts[k]!, period.interval, period.timezone)));
  if (math === 'wau' || math === 'mau') {
    // A window sliding over the rows in time order: persons enter at their rows, leave when the window's start passes them.
    const days = lookbackDays(math);
    const inWindow = new Int32Array(personCount);
    let distinct = 0;
    let [head, tail] = [0, 0];
    const values = ends.map((end) => {
      const stop = Math.min(end, period.to);
      const start = windowStart(end, days, period.interval, period.timezone);
      for (; head < size && rows.time[row(head)]! < stop; head++) {
        if (++inWindow[rows.person[row(head)]!]! === 1) distinct++;
      }
      for (; tail < head && rows.time[row(tail)]! < start; tail++) {
        if (--inWindow[rows.person[row(tail)]!]! === 0) distinct--;
      }
      return distinct;
    });
    return { values, total: null };
  }
  const counts = new Array<number>(n).fill(0);
  const seen = math === 'users' ? new Int32Array(personCount).fill(-1) : undefined;
  const seenInRange = math === 'users' ? new Uint8Array(personCount) : undefined;
  let rangeDistinct = 0;
  const numbers: number[][] = Array.from({ length: n }, () => []);
  // Rows come in time order, so the interval only moves forward.
  let k = -1;
  for (let j = 0; j < size; j++) {
    const i = row(j);
    const t = rows.time[i]!;
    if (t < period.from || t >= period.to) continue;
    while (k + 1 < n && period.starts[k + 1]! <= t) k++;
    if (k === -1) continue;
    if (math === 'total') counts[k]!++;
    else if (seen !== undefined) {
      const p = rows.person[i]!;
      if (seen[p] !== k) {
        seen[p] = k;
        counts[k]!++;
      }
      if (seenInRange![p] === 0) {
        seenInRange![p] = 1;
        rangeDistinct++;
      }
    } else if (!Number.isNaN(rows.number[i]!)) numbers[k]!.push(rows.number[i]!);
  }
  if (math === 'total') return { values: counts, total: counts.reduce((a, b) => a + b, 0) };
  if (math === 'users') return { values: counts, total: rangeDistinct };
  return { values: numbers.map((v) => statistic(math, v)), total: statistic(math, numbers.flat()) };
}

/** Per label code, the indexes of the rows with that label, in time order. */
function rowsByLabel(rows: SelectedRows): Int32Array[] {
  const { start, rows: order } = groupRows(rows.label, rows.labels.length);
  return rows.labels.map((_, code) => order.subarray(start[code]!, start[code + 1]!));
}

/** A series' label: its event and math. */
function seriesLabel(s: TrendsDefinition['series'][number]): string {
  return s.math === 'total' ? s.event : `${s.event} (${s.math}${s.property === undefined ? '' : ` of ${s.property}`})`;
}

/**
 * Runs a trends definition. `range` is the current period and `starts` its intervals;
 * with `compare`, `previous` is the period before it, aligned by index.
 */
export function runTrends(
  definition: TrendsDefinition,
  data: ReportData,
  range: ReportRange,
  starts: readonly number[],
  previous?: { range: ReportRange; starts: readonly number[] },
): TrendsResult {
  const periods: Array<{ name: 'current' | 'previous'; period: Period }> = [{ name: 'current', period: { ...range, starts, interval: definition.interval } }];
  if (previous !== undefined) periods.push({ name: 'previous', period: { ...previous.range, starts: previous.starts.slice(0, starts.length), interval: definition.interval } });
  const breakdown = definition.breakdown;
  const personCount = data.persons.length;
  const results: TrendsRow[] = [];
  const selectFor = (period: Period) =>
    definition.series.map((s) =>
      selectRows(data, {
        event: s.event,
        filters: s.filters,
        from: period.from - lookbackDays(s.math) * GRANULARITY_MS.day,
        to: period.to,
        numberProperty: s.property,
        labelProperty: breakdown?.property,
      }),
    );
  const selections = periods.map(({ period }) => selectFor(period));
  // Without a breakdown one row per series; with one, a row per value the first series ranks highest in the current period, then "(other)", in both periods.
  const groups: Array<{ label: string | undefined; subset: (rows: SelectedRows) => Int32Array | undefined }> = [];
  if (breakdown === undefined) groups.push({ label: undefined, subset: () => undefined });
  else {
    const byLabel = new Map<SelectedRows, Int32Array[]>(selections.flat().map((rows) => [rows, rowsByLabel(rows)]));
    const current = selections[0]!;
    const first = current[0]!;
    const totals = new Map<string, number>();
    first.labels.forEach((label, code) => totals.set(label, aggregate(definition.series[0]!.math, first, byLabel.get(first)![code]!, periods[0]!.period, personCount).total ?? 0));
    for (const rows of current.slice(1)) for (const label of rows.labels) if (!totals.has(label)) totals.set(label, 0);
    const ranked = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = new Set(ranked.slice(0, breakdown.limit).map(([label]) => label));
    for (const label of top) {
      groups.push({ label, subset: (rows) => byLabel.get(rows)![rows.labels.indexOf(label)] ?? new Int32Array(0) });
    }
    if (totals.size > top.size) {
      groups.push({
        label: OTHER_LABEL,
        subset: (rows) => {
          const other = rows.labels.map((l) => !top.has(l));
          return Int32Array.from(rows.label.keys()).filter((i) => other[rows.label[i]!]!);
        },
      });
    }
  }
  const padded = (values: Array<number | null>) => (values.length < starts.length ? [...values, ...new Array<null>(starts.length - values.length).fill(null)] : values);
  periods.forEach(({ name, period }, p) => {
    const selected = selections[p]!;
    for (const { label, subset } of groups) {
      const rows = definition.series.map((s, i) => ({ s, i, ...aggregate(s.math, selected[i]!, subset(selected[i]!), period, personCount) }));
      const tag = (row: Omit<TrendsRow, 'breakdown' | 'period'>): TrendsRow => ({ ...row, values: padded(row.values), ...(label === undefined ? {} : { breakdown: label }), period: name });
      if (definition.formula === undefined) {
        for (const r of rows) results.push(tag({ series: seriesName(r.i), label: seriesLabel(r.s), values: r.values, total: r.total }));
        continue;
      }
      const formula = parseFormula(definition.formula, definition.series.map((_, i) => seriesName(i)));
      const at = (pick: (r: (typeof rows)[number]) => number | null) => evaluateFormula(formula, Object.fromEntries(rows.map((r) => [seriesName(r.i), pick(r)])));
      results.push(tag({ series: 'formula', label: definition.formula, values: rows[0]!.values.map((_, k) => at((r) => r.values[k] ?? null)), total: at((r) => r.total) }));
    }
  });
  return { intervals: starts.map((t) => new Date(t).toISOString()), results };
}
