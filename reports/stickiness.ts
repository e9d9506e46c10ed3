/**
 * Stickiness (docs/reports.md#stickiness): how many persons did the event in exactly
 * 1, 2, … of the range's intervals. Pure.
 */
import type { ReportDefinition, ReportRange } from '../model/report-definition.js';
import { selectRows, type ReportData } from './report-data.js';
import { intervalIndex } from './trends.js';

type StickinessDefinition = Extract<ReportDefinition, { kind: 'stickiness' }>;

export interface StickinessResult {
  intervals: string[];
  /** counts[k - 1]: persons active in exactly k intervals. */
  counts: number[];
}

export function runStickiness(definition: StickinessDefinition, data: ReportData, range: ReportRange, starts: readonly number[]): StickinessResult {
  const rows = selectRows(data, { event: definition.event, filters: definition.filters, from: range.from, to: range.to });
  const lastInterval = new Int32Array(data.persons.length).fill(-1);
  const active = new Int32Array(data.persons.length);
  for (let i = 0; i < rows.time.length; i++) {
    const k = intervalIndex(starts, rows.time[i]!);
    const p = rows.person[i]!;
    // Rows come in time order, so a person's intervals come in order too.
    if (k !== -1 && lastInterval[p] !== k) {
      lastInterval[p] = k;
      active[p]!++;
    }
  }
  const counts = new Array<number>(starts.length).fill(0);
  for (const n of active) if (n > 0) counts[n - 1]!++;
  return { intervals: starts.map((t) => new Date(t).toISOString()), counts };
}
