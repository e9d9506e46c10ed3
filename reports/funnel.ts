/**
 * Funnels (docs/reports.md#funnels), PostHog's semantics: an attempt starts at a step-0
 * event inside the range (unordered: at any step's event); each next step is an event
 * at or after the previous one's time (equal timestamps count as in order) and within
 * the window of the attempt's start; one event fills one step; strict: no other event of
 * the person strictly between two steps; an exclusion event between the attempt's steps
 * `fromStep` and `toStep` voids it. A person counts once, at the furthest step of their
 * attempts, with the times of the first attempt that got there. Pure.
 */
import type { ReportDefinition, ReportRange } from '../model/report-definition.js';
import { GRANULARITY_MS } from '../model/time-buckets.js';
import { quantile } from './trends.js';
import { groupRows } from './day-segment.js';
import { markRows, NONE_LABEL, OTHER_LABEL, type EventRef, type MarkedRows, type ReportData } from './report-data.js';

type FunnelDefinition = Extract<ReportDefinition, { kind: 'funnel' }>;

export const WINDOW_UNIT_MS = { second: 1000, ...GRANULARITY_MS, week: 7 * GRANULARITY_MS.day } as const;

export interface FunnelStep {
  event: string;
  /** Persons who reached this step (at their furthest attempt). */
  count: number;
  /** count / the first step's count; null when nobody started. */
  conversionRate: number | null;
  /** From the previous step to this one, over the persons who reached it; null for the first step or when nobody did. */
  averageSecondsToConvert: number | null;
  medianSecondsToConvert: number | null;
}

export interface FunnelResult {
  steps: FunnelStep[];
  breakdowns?: Array<{ value: string; steps: FunnelStep[] }>;
}

/** The attempt a person counts with: the rows filling steps 0 … furthest, and their times. */
interface Attempt {
  rows: number[];
  times: number[];
}

const BREAKDOWN_LIMIT = 25;

/** The window of a funnel, in ms. */
export function funnelWindowMs(definition: Pick<FunnelDefinition, 'window'>): number {
  return definition.window.value * WINDOW_UNIT_MS[definition.window.unit];
}

export function runFunnel(definition: FunnelDefinition, data: ReportData, range: ReportRange): FunnelResult {
  const windowMs = funnelWindowMs(definition);
  // Bits: the steps, then the exclusions, then (strict) any event of the person.
  const refs: EventRef[] = [...definition.steps, ...definition.exclusions];
  const anyBit = definition.order === 'strict' ? refs.push({ event: undefined }) - 1 : -1;
  const rows = markRows(data, refs, range.from, range.to + windowMs + 1, definition.breakdown?.property);
  // Each person's rows, in time order.
  const { start, rows: order } = groupRows(rows.person, data.persons.length);
  const counted: Array<{ attempt: Attempt; value: string }> = [];
  for (let p = 0; p < data.persons.length; p++) {
    if ((p & 0xfff) === 0) data.checkTime();
    const mine = order.subarray(start[p]!, start[p + 1]!);
    if (mine.length === 0) continue;
    const attempt = definition.order === 'unordered' ? bestUnordered(definition, rows, mine, range, windowMs) : bestOrdered(definition, rows, mine, range, windowMs, anyBit);
    if (attempt !== undefined) counted.push({ attempt, value: breakdownValue(definition, rows, attempt) });
  }
  const result: FunnelResult = { steps: stepFigures(definition, counted.map((c) => c.attempt)) };
  if (definition.breakdown !== undefined) {
    const byValue = new Map<string, Attempt[]>();
    for (const { attempt, value } of counted) {
      const attempts = byValue.get(value);
      if (attempts === undefined) byValue.set(value, [attempt]);
      else attempts.push(attempt);
    }
    const ranked = [...byValue].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
    const other = ranked.slice(BREAKDOWN_LIMIT).flatMap(([, attempts]) => attempts);
    result.breakdowns = [
      ...ranked.slice(0, BREAKDOWN_LIMIT).map(([value, attempts]) => ({ value, steps: stepFigures(definition, attempts) })),
      ...(other.length > 0 ? [{ value: OTHER_LABEL, steps: stepFigures(definition, other) }] : []),
    ];
  }
  return result;
}

/** Whether an exclusion event voids an attempt: one between its steps fromStep and toStep (up to the window's end when toStep was not reached). */
function excluded(definition: FunnelDefinition, rows: MarkedRows, mine: Int32Array, attempt: Attempt, deadline: number): boolean {
  const furthest = attempt.rows.length - 1;
  return definition.exclusions.some((e, i) => {
    if (furthest < e.fromStep) return false;
    const bit = 1 << (definition.steps.length + i);
    const after = attempt.times[e.fromStep]!;
    const reached = furthest >= e.toStep;
    const before = reached ? attempt.times[e.toStep]! : deadline;
    for (const r of mine) {
      const t = rows.time[r]!;
      if ((rows.mask[r]! & bit) === 0 || attempt.rows.includes(r) || t <= after) continue;
      if (reached ? t < before : t <= before) return true;
    }
    return false;
  });
}

/** The first position in `mine` (time order) whose time is at least `t`. */
function firstAtOrAfter(rows: MarkedRows, mine: Int32Array, t: number): number {
  let [low, high] = [0, mine.length];
  while (low < high) {
    const mid = (low + high) >> 1;
    if (rows.time[mine[mid]!]! < t) low = mid + 1;
    else high = mid;
  }
  return low;
}

function bestOrdered(definition: FunnelDefinition, rows: MarkedRows, mine: Int32Array, range: ReportRange, windowMs: number, anyBit: number): Attempt | undefined {
  const steps = definition.steps.length;
  let best: Attempt | undefined;
  for (const first of mine) {
    const t0 = rows.time[first]!;
    if ((rows.mask[first]! & 1) === 0 || t0 < range.from || t0 >= range.to) continue;
    const deadline = t0 + windowMs;
    const attempt: Attempt = { rows: [first], times: [t0] };
    for (let k = 1; k < steps; k++) {
      const previous = attempt.times[k - 1]!;
      let next = -1;
      for (let i = firstAtOrAfter(rows, mine, previous); i < mine.length; i++) {
        const r = mine[i]!;
        if (rows.time[r]! > deadline) break;
        if ((rows.mask[r]! & (1 << k)) !== 0 && !attempt.rows.includes(r)) {
          next = r;
          break;
        }
      }
      if (next === -1) break;
      // Strict: any other event of the person strictly between the two steps ends the attempt here.
      if (anyBit !== -1 && mine.some((r) => rows.time[r]! > previous && rows.time[r]! < rows.time[next]! && !attempt.rows.includes(r))) break;
      attempt.rows.push(next);
      attempt.times.push(rows.time[next]!);
    }
    if (excluded(definition, rows, mine, attempt, deadline)) continue;
    if (best === undefined || attempt.rows.length > best.rows.length) best = attempt;
    if (best.rows.length === steps) break;
  }
  return best;
}

/** Unordered: the most steps rows within the window of a starting row can fill, one row each (a bipartite matching; steps ≤ 10). */
function bestUnordered(definition: FunnelDefinition, rows: MarkedRows, mine: Int32Array, range: ReportRange, windowMs: number): Attempt | undefined {
  const steps = definition.steps.length;
  const stepBits = (1 << steps) - 1;
  let best: Attempt | undefined;
  for (const first of mine) {
    const t0 = rows.time[first]!;
    if ((rows.mask[first]! & stepBits) === 0 || t0 < range.from || t0 >= range.to) continue;
    const deadline = t0 + windowMs;
    // Per step, its first `steps` candidate rows are enough for a largest matching.
    const candidates: number[][] = Array.from({ length: steps }, () => []);
    for (let i = firstAtOrAfter(rows, mine, t0); i < mine.length && rows.time[mine[i]!]! <= deadline; i++) {
      const r = mine[i]!;
      for (let k = 0; k < steps; k++) if ((rows.mask[r]! & (1 << k)) !== 0 && candidates[k]!.length < steps) candidates[k]!.push(r);
    }
    // The starting row fills one of its steps: try each.
    let attempt: Attempt | undefined;
    for (let k0 = 0; k0 < steps; k0++) {
      if ((rows.mask[first]! & (1 << k0)) === 0) continue;
      const rowOfStep = new Map<number, number>([[k0, first]]);
      const stepOfRow = new Map<number, number>([[first, k0]]);
      const augment = (k: number, seen: Set<number>): boolean => {
        for (const r of candidates[k]!) {
          if (seen.has(r) || r === first) continue;
          seen.add(r);
          const holder = stepOfRow.get(r);
          if (holder === undefined || augment(holder, seen)) {
            rowOfStep.set(k, r);
            stepOfRow.set(r, k);
            return true;
          }
        }
        return false;
      };
      for (let k = 0; k < steps; k++) if (k !== k0) augment(k, new Set());
      const filled = [...rowOfStep.values()].sort((a, b) => rows.time[a]! - rows.time[b]! || a - b);
      if (attempt === undefined || filled.length > attempt.rows.length) attempt = { rows: filled, times: filled.map((r) => rows.time[r]!) };
    }
    if (attempt === undefined || excluded(definition, rows, mine, attempt, deadline)) continue;
    if (best === undefined || attempt.rows.length > best.rows.length) best = attempt;
    if (best.rows.length === steps) break;
  }
  return best;
}

/** The breakdown value a counted attempt is shown under. */
function breakdownValue(definition: FunnelDefinition, rows: MarkedRows, attempt: Attempt): string {
  const b = definition.breakdown;
  if (b === undefined) return NONE_LABEL;
  const labels = attempt.rows.map((r) => rows.labels[rows.label[r]!]!);
  if (b.attribution === 'step') return labels[b.step!] ?? NONE_LABEL;
  const set = labels.filter((l) => l !== NONE_LABEL);
  return (b.attribution === 'first_touch' ? set[0] : set[set.length - 1]) ?? NONE_LABEL;
}

function stepFigures(definition: FunnelDefinition, attempts: readonly Attempt[]): FunnelStep[] {
  const started = attempts.length;
  return definition.steps.map((step, k) => {
    const reached = attempts.filter((a) => a.rows.length > k);
    const seconds = k === 0 ? [] : reached.map((a) => (a.times[k]! - a.times[k - 1]!) / 1000).sort((x, y) => x - y);
    return {
      event: step.event,
      count: reached.length,
      conversionRate: started === 0 ? null : reached.length / started,
      averageSecondsToConvert: seconds.length === 0 ? null : seconds.reduce((x, y) => x + y, 0) / seconds.length,
      medianSecondsToConvert: seconds.length === 0 ? null : quantile(seconds, 0.5),
    };
  });
}
