/**
 * What a report runs over: the day segments of its days and who each row's person is
 * (model/persons.ts), as one numbering of the persons across segments. Pure.
 */
import type { Persons } from '../model/persons.js';
import type { DaySegment } from './day-segment.js';
import { columnName, matchingRows, numericValue, type Filter } from './row-filters.js';

export interface ReportData {
  /** By UTC day, ascending. */
  segments: readonly DaySegment[];
  /** Per segment: actor code → person number. */
  personOfActor: readonly Int32Array[];
  /** Person number → the person's id (a userId, or an anonymousId never linked). */
  persons: readonly string[];
}

export function reportData(segments: readonly DaySegment[], persons: Persons): ReportData {
  const numbers = new Map<string, number>();
  const ids: string[] = [];
  const personOfActor = segments.map((s) => {
    const map = new Int32Array(s.actors.length);
    for (let a = 0; a < s.actors.length; a++) {
      const id = s.anonymous[a] === 1 ? persons.personOf({ anonymousId: s.actors[a]! }) : s.actors[a]!;
      let n = numbers.get(id);
      if (n === undefined) {
        n = ids.length;
        ids.push(id);
        numbers.set(id, n);
      }
      map[a] = n;
    }
    return map;
  });
  return { segments, personOfActor, persons: ids };
}

/** The rows a series, step or event reference selects, as parallel arrays in time order. */
export interface SelectedRows {
  time: Float64Array;
  person: Int32Array;
  /** The numeric property's value per row, NaN when none (only when asked for). */
  number: Float64Array;
  /** The breakdown's label per row, a code into `labels` (only when asked for). */
  label: Int32Array;
  labels: string[];
}

export const NONE_LABEL = '(none)';
export const OTHER_LABEL = '(other)';

/** A breakdown value as its row's label: missing, null and "" are "(none)"; scalars as text; objects as JSON. */
export function breakdownLabel(value: unknown): string {
  if (value === undefined || value === null || value === '') return NONE_LABEL;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface Selection {
  /** undefined: any event. */
  event: string | undefined;
  filters?: readonly Filter[];
  /** [from, to) instants. */
  from: number;
  to: number;
  numberProperty?: string;
  labelProperty?: string;
}

/** The rows of `data` a selection takes, in time order (segments are, and come by day). */
export function selectRows(data: ReportData, selection: Selection): SelectedRows {
  const { from, to } = selection;
  const times: number[] = [];
  const persons: number[] = [];
  const numbers: number[] = [];
  const labelCodes: number[] = [];
  const labels: string[] = [];
  const labelCode = new Map<string, number>();
  data.segments.forEach((segment, s) => {
    // A UTC day outside [from, to) holds no row of it.
    if ((segment.day + 1) * 86_400_000 <= from || segment.day * 86_400_000 >= to) return;
    const rows = matchingRows(segment, selection.event, selection.filters);
    const numberColumn = selection.numberProperty === undefined ? undefined : segment.columns.get(columnName(selection.numberProperty));
    const numberOfCode = numberColumn?.values.map((v) => numericValue(v) ?? NaN);
    const labelColumn = selection.labelProperty === undefined ? undefined : segment.columns.get(columnName(selection.labelProperty));
    // Label codes are given as rows use them, so `labels` holds only labels of selected rows.
    const labelOfCode = selection.labelProperty === undefined ? undefined : new Int32Array((labelColumn?.values.length ?? 0) + 1).fill(-1);
    const labelFor = (columnCode: number) => {
      let code = labelOfCode![columnCode + 1]!;
      if (code === -1) {
        const label = columnCode === -1 ? NONE_LABEL : breakdownLabel(labelColumn!.values[columnCode]);
        code = labelCode.get(label) ?? labelCode.set(label, labels.push(label) - 1).get(label)!;
        labelOfCode![columnCode + 1] = code;
      }
      return code;
    };
    const personOf = data.personOfActor[s]!;
    for (const row of rows) {
      const t = segment.time[row]!;
      if (t < from || t >= to) continue;
      times.push(t);
      persons.push(personOf[segment.actor[row]!]!);
      if (numberOfCode !== undefined) {
        const code = numberColumn!.codes[row]!;
        numbers.push(code === -1 ? NaN : numberOfCode[code]!);
      } else numbers.push(NaN);
      if (labelOfCode !== undefined) labelCodes.push(labelFor(labelColumn === undefined ? -1 : labelColumn.codes[row]!));
    }
  });
  return {
    time: Float64Array.from(times),
    person: Int32Array.from(persons),
    number: Float64Array.from(numbers),
    label: Int32Array.from(labelCodes),
    labels,
  };
}
