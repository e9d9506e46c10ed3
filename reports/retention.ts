/**
 * Retention and lifecycle (docs/reports.md#retention, #lifecycle): persons by the
 * periods they were active in. Pure.
 */
import type { ReportDefinition, ReportRange } from '../model/report-definition.js';
import { inDays, markRows, rowsByPerson, type ReportData } from './report-data.js';
import { intervalIndex } from './trends.js';

type RetentionDefinition = Extract<ReportDefinition, { kind: 'retention' }>;
type LifecycleDefinition = Extract<ReportDefinition, { kind: 'lifecycle' }>;

export interface RetentionResult {
  cohorts: Array<{ cohort: string; size: number; retained: number[] }>;
}

export interface LifecycleResult {
  intervals: string[];
  new: number[];
  returning: number[];
  resurrecting: number[];
  /** Negative: persons active in the interval before and not in this one. */
  dormant: number[];
}

/**
 * `starts` are the periods from the one holding `from` to the one holding `to`; `history`
 * is where the data begins (first_time looks for each person's first start event from there).
 */
export function runRetention(definition: RetentionDefinition, data: ReportData, range: ReportRange, starts: readonly number[], history: number): RetentionResult {
  const startBit = 1;
  const returnBit = 2;
  const rows = markRows(data, [{ event: definition.startEvent?.event, filters: definition.startEvent?.filters }, { event: definition.returnEvent?.event, filters: definition.returnEvent?.filters }], history, range.to);
  const periods = starts.length;
  const size = new Array<number>(periods).fill(0);
  const retained = starts.map((_, c) => new Array<number>(periods - c).fill(0));
  const { start, order } = rowsByPerson(rows.person, data.persons.length);
  const cohortsOf = new Uint8Array(periods);
  const returnedIn = new Uint8Array(periods);
  for (let p = 0; p < data.persons.length; p++) {
    if ((p & 0xfff) === 0) data.checkTime();
    cohortsOf.fill(0);
    returnedIn.fill(0);
    let first = true;
    for (let i = start[p]!; i < start[p + 1]!; i++) {
      const r = order[i]!;
      const t = rows.time[r]!;
      const k = t >= range.from ? intervalIndex(starts, t) : -1;
      if ((rows.mask[r]! & startBit) !== 0) {
        // first_time: only the person's first start event ever (rows come in time order), and only when it is inside the range.
        if (definition.type === 'recurring' || first) {
          if (k !== -1) cohortsOf[k] = 1;
        }
        first = false;
      }
      if ((rows.mask[r]! & returnBit) !== 0 && k !== -1) returnedIn[k] = 1;
    }
    for (let c = 0; c < periods; c++) {
      if (cohortsOf[c] === 0) continue;
      size[c]!++;
      retained[c]![0]!++;
      for (let k = 1; c + k < periods; k++) if (returnedIn[c + k] === 1) retained[c]![k]!++;
    }
  }
  return { cohorts: starts.map((t, c) => ({ cohort: new Date(t).toISOString(), size: size[c]!, retained: retained[c]! })) };
}

/**
 * `starts` are the range's intervals with the one before them first (for dormant and
 * returning in the first interval); `history` is where the data begins: a person is new
 * in the interval of their first event of any kind from there.
 */
export function runLifecycle(definition: LifecycleDefinition, data: ReportData, range: ReportRange, starts: readonly number[], history: number): LifecycleResult {
  const rows = markRows(data, [{ event: definition.event, filters: definition.filters }], starts[0]!, range.to);
  // Each person's first event of any kind: the earliest first row of their actors over the days from `history`.
  const firstSeen = new Float64Array(data.persons.length).fill(Infinity);
  for (const s of inDays(data, history, Infinity)) {
    const segment = data.segments[s]!;
    const personOf = data.personOfActor[s]!;
    for (let a = 0; a < segment.actors.length; a++) {
      const p = personOf[a]!;
      if (segment.actorFirst[a]! < firstSeen[p]!) firstSeen[p] = segment.actorFirst[a]!;
    }
  }
  const n = starts.length - 1;
  const result: LifecycleResult = { intervals: starts.slice(1).map((t) => new Date(t).toISOString()), new: new Array<number>(n).fill(0), returning: new Array<number>(n).fill(0), resurrecting: new Array<number>(n).fill(0), dormant: new Array<number>(n).fill(0) };
  const { start, order } = rowsByPerson(rows.person, data.persons.length);
  const active = new Uint8Array(starts.length);
  for (let p = 0; p < data.persons.length; p++) {
    if ((p & 0xfff) === 0) data.checkTime();
    // Not active in the range or the interval before it: nothing to count.
    if (start[p] === start[p + 1]) continue;
    active.fill(0);
    for (let i = start[p]!; i < start[p + 1]!; i++) active[intervalIndex(starts, rows.time[order[i]!]!)] = 1;
    const bornIn = firstSeen[p]! >= starts[0]! ? intervalIndex(starts, firstSeen[p]!) : -1;
    for (let k = 1; k < starts.length; k++) {
      if (active[k] === 1) {
        if (bornIn === k) result.new[k - 1]!++;
        else if (active[k - 1] === 1) result.returning[k - 1]!++;
        else result.resurrecting[k - 1]!++;
      } else if (active[k - 1] === 1) result.dormant[k - 1]!--;
    }
  }
  return result;
}
