/**
 * What a report runs over: the day segments of its days and who each row's person is
 * (model/persons.ts), as one numbering of the persons across segments. Pure.
 */
import type { Persons } from '../model/persons.js';
import { GRANULARITY_MS } from '../model/time-buckets.js';
import type { DaySegment } from './day-segment.js';
import { columnName, matchingRows, numericValue, type Filter } from './row-filters.js';

export interface ReportData {
  /** By UTC day, ascending. */
  segments: readonly DaySegment[];
  /** Per segment: actor code → person number. */
  personOfActor: readonly Int32Array[];
  /** Person number → the person's id (a userId, or an anonymousId never linked). */
  persons: readonly string[];
  /** Throws when the report has run out of time (REPORTS_TIMEOUT_MS): the kinds call it as they go. */
  checkTime(): void;
}

/**
 * One numbering of a project's persons, from its links: each segment's actors mapped to
 * person numbers once and remembered, so a report over held segments does not map them
 * again. A new set of links needs a new numbering (the segment store makes one).
 */
export class PersonNumbering {
  readonly ids: string[] = [];
  private readonly numbers = new Map<string, number>();
  private readonly mapped = new WeakMap<DaySegment, Int32Array>();

  constructor(private readonly persons: Persons) {}

  /** Actor code → person number, for one segment. */
  actorsOf(segment: DaySegment): Int32Array {
    let map = this.mapped.get(segment);
    if (map !== undefined) return map;
    map = new Int32Array(segment.actors.length);
    for (let a = 0; a < segment.actors.length; a++) {
      const id = segment.anonymous[a] === 1 ? this.persons.personOf({ anonymousId: segment.actors[a]! }) : segment.actors[a]!;
      let n = this.numbers.get(id);
      if (n === undefined) {
        n = this.ids.length;
        this.ids.push(id);
        this.numbers.set(id, n);
      }
      map[a] = n;
    }
    this.mapped.set(segment, map);
    return map;
  }
}

export function reportData(segments: readonly DaySegment[], persons: Persons | PersonNumbering, checkTime: () => void = () => undefined): ReportData {
  const numbering = persons instanceof PersonNumbering ? persons : new PersonNumbering(persons);
  const personOfActor = segments.map((s) => numbering.actorsOf(s));
  return { segments, personOfActor, persons: numbering.ids.slice(), checkTime };
}

/** The rows a series, step or event reference selects, as parallel arrays in time order. */
export interface SelectedRows {
  time: Float64Array;
  person: Int32Array;
  /** The numeric property's value per row, NaN when none (empty unless asked for). */
  number: Float64Array;
  /** The breakdown's label per row, a code into `labels` (empty unless asked for). */
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
  // The matching rows per day first, so the columns are allocated once at their size.
  const days = inDays(data, from, to).map((s) => ({ s, rows: matchingRows(data.segments[s]!, selection.event, selection.filters) }));
  const total = days.reduce((n, d) => n + d.rows.length, 0);
  const time = new Float64Array(total);
  const person = new Int32Array(total);
  const number = new Float64Array(selection.numberProperty === undefined ? 0 : total);
  const label = new Int32Array(selection.labelProperty === undefined ? 0 : total);
  const labelCoder = selection.labelProperty === undefined ? undefined : new LabelCoder(selection.labelProperty);
  let n = 0;
  for (const { s, rows } of days) {
    data.checkTime();
    const segment = data.segments[s]!;
    const numberColumn = selection.numberProperty === undefined ? undefined : segment.columns.get(columnName(selection.numberProperty));
    const numberOfCode = selection.numberProperty === undefined ? undefined : Float64Array.from(numberColumn?.values ?? [], (v) => numericValue(v) ?? NaN);
    const labelFor = labelCoder?.forSegment(segment);
    const personOf = data.personOfActor[s]!;
    for (const row of rows) {
      const t = segment.time[row]!;
      if (t < from || t >= to) continue;
      time[n] = t;
      person[n] = personOf[segment.actor[row]!]!;
      if (numberOfCode !== undefined) {
        const code = numberColumn === undefined ? -1 : numberColumn.codes[row]!;
        number[n] = code === -1 ? NaN : numberOfCode[code]!;
      }
      if (labelFor !== undefined) label[n] = labelFor(row);
      n++;
    }
  }
  return { time: time.subarray(0, n), person: person.subarray(0, n), number: number.subarray(0, Math.min(n, number.length)), label: label.subarray(0, Math.min(n, label.length)), labels: labelCoder?.labels ?? [] };
}

/** The indexes of the segments whose UTC day overlaps [from, to). */
export function inDays(data: ReportData, from: number, to: number): number[] {
  return data.segments.flatMap((segment, s) => ((segment.day + 1) * GRANULARITY_MS.day <= from || segment.day * GRANULARITY_MS.day >= to ? [] : [s]));
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

/** An event reference of a funnel or retention: an event (any, when undefined) and its filters; `from`: its rows from that instant only (else all the marked range). */
export interface EventRef {
  event: string | undefined;
  filters?: readonly Filter[];
  from?: number;
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
  const days = inDays(data, from, to).map((s) => {
    const segment = data.segments[s]!;
    const mask = new Int32Array(segment.size);
    let marked = 0;
    refs.forEach((ref, bit) => {
      const refFrom = ref.from ?? -Infinity;
      for (const row of matchingRows(segment, ref.event, ref.filters)) {
        if (segment.time[row]! < refFrom) continue;
        if (mask[row] === 0) marked++;
        mask[row]! |= 1 << bit;
      }
    });
    return { s, mask, marked };
  });
  const total = days.reduce((n, d) => n + d.marked, 0);
  const time = new Float64Array(total);
  const person = new Int32Array(total);
  const masks = new Int32Array(total);
  const label = new Int32Array(labelProperty === undefined ? 0 : total);
  const labelCoder = labelProperty === undefined ? undefined : new LabelCoder(labelProperty);
  let n = 0;
  for (const { s, mask } of days) {
    data.checkTime();
    const segment = data.segments[s]!;
    const labelFor = labelCoder?.forSegment(segment);
    const personOf = data.personOfActor[s]!;
    for (let row = 0; row < segment.size; row++) {
      const t = segment.time[row]!;
      if (mask[row] === 0 || t < from || t >= to) continue;
      time[n] = t;
      person[n] = personOf[segment.actor[row]!]!;
      masks[n] = mask[row]!;
      if (labelFor !== undefined) label[n] = labelFor(row);
      n++;
    }
  }
  return { time: time.subarray(0, n), person: person.subarray(0, n), mask: masks.subarray(0, n), label: label.subarray(0, Math.min(n, label.length)), labels: labelCoder?.labels ?? [] };
}
