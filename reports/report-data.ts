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
  const labelCoder = selection.labelProperty === undefined ? undefined : new LabelCoder(selection.labelProperty);
  data.segments.forEach((segment, s) => {
    // A UTC day outside [from, to) holds no row of it.
    if ((segment.day + 1) * 86_400_000 <= from || segment.day * 86_400_000 >= to) return;
    const rows = matchingRows(segment, selection.event, selection.filters);
    const numberColumn = selection.numberProperty === undefined ? undefined : segment.columns.get(columnName(selection.numberProperty));
    const numberOfCode = numberColumn?.values.map((v) => numericValue(v) ?? NaN);
    const labelFor = labelCoder?.forSegment(segment);
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
      if (labelFor !== undefined) labelCodes.push(labelFor(row));
    }
  });
  return {
    time: Float64Array.from(times),
    person: Int32Array.from(persons),
    number: Float64Array.from(numbers),
    label: Int32Array.from(labelCodes),
    labels: labelCoder?.labels ?? [],
  };
}

/** Codes for a breakdown property's labels across segments, given as rows use them (so `labels` holds only labels of selected rows). */
class LabelCoder {
  readonly labels: string[] = [];
  private readonly codes = new Map<string, number>();
  constructor(private readonly property: string) {}

  /** The label code of a row of this segment. */
  forSegment(segment: DaySegment): (row: number) => number {
    const column = segment.columns.get(columnName(this.property));
    const byColumnCode = new Int32Array((column?.values.length ?? 0) + 1).fill(-1);
    return (row) => {
      const columnCode = column === undefined ? -1 : column.codes[row]!;
      let code = byColumnCode[columnCode + 1]!;
      if (code === -1) {
        const label = columnCode === -1 ? NONE_LABEL : breakdownLabel(column!.values[columnCode]);
        code = this.codes.get(label) ?? this.codes.set(label, this.labels.push(label) - 1).get(label)!;
        byColumnCode[columnCode + 1] = code;
      }
      return code;
    };
  }
}

/** An event reference of a funnel or retention: an event (any, when undefined) and its filters. */
export interface EventRef {
  event: string | undefined;
  filters?: readonly Filter[];
}

/** Rows matching any of up to 31 references, with a bit per reference matched, in time order. */
export interface MarkedRows {
  time: Float64Array;
  person: Int32Array;
  mask: Int32Array;
  label: Int32Array;
  labels: string[];
}

export function markRows(data: ReportData, refs: readonly EventRef[], from: number, to: number, labelProperty?: string): MarkedRows {
  if (refs.length > 31) throw new Error('at most 31 event references');
  const times: number[] = [];
  const persons: number[] = [];
  const masks: number[] = [];
  const labelCodes: number[] = [];
  const labelCoder = labelProperty === undefined ? undefined : new LabelCoder(labelProperty);
  data.segments.forEach((segment, s) => {
    if ((segment.day + 1) * 86_400_000 <= from || segment.day * 86_400_000 >= to) return;
    const mask = new Int32Array(segment.size);
    refs.forEach((ref, bit) => {
      for (const row of matchingRows(segment, ref.event, ref.filters)) mask[row]! |= 1 << bit;
    });
    const labelFor = labelCoder?.forSegment(segment);
    const personOf = data.personOfActor[s]!;
    for (let row = 0; row < segment.size; row++) {
      const t = segment.time[row]!;
      if (mask[row] === 0 || t < from || t >= to) continue;
      times.push(t);
      persons.push(personOf[segment.actor[row]!]!);
      masks.push(mask[row]!);
      if (labelFor !== undefined) labelCodes.push(labelFor(row));
    }
  });
  return { time: Float64Array.from(times), person: Int32Array.from(persons), mask: Int32Array.from(masks), label: Int32Array.from(labelCodes), labels: labelCoder?.labels ?? [] };
}

/** Row numbers grouped by person, each person's in time order: rows of person p are order[start[p]] … order[start[p + 1] - 1]. */
export function rowsByPerson(person: Int32Array, personCount: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(personCount + 1);
  for (const p of person) start[p + 1]!++;
  for (let p = 0; p < personCount; p++) start[p + 1]! += start[p]!;
  const next = start.slice(0, personCount);
  const order = new Int32Array(person.length);
  for (let i = 0; i < person.length; i++) order[next[person[i]!]!++] = i;
  return { start, order };
}
