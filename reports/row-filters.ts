/**
 * A definition's event and filters as a test of one segment's rows
 * (docs/reports.md#filters). Each filter is decided once per distinct value of its
 * column, then a row is one array lookup per filter. Pure.
 */
import { escapeKey } from '../model/field-names.js';
import type { FILTER_OPS } from '../model/report-definition.js';
import { CONTEXT_PREFIX, type Column, type DaySegment } from './day-segment.js';

export interface Filter {
  property: string;
  op: (typeof FILTER_OPS)[number];
  value?: unknown;
}

/** The column a definition's property names: keys are stored escaped as ingest escapes them. */
export function columnName(property: string): string {
  return property.startsWith(CONTEXT_PREFIX) ? CONTEXT_PREFIX + escapeKey(property.slice(CONTEXT_PREFIX.length)) : escapeKey(property);
}

/** A number from a property value: a number, or a string holding one (PostHog reads "12.5" as 12.5). */
export function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** How values compare for eq, neq, in and not_in: scalars by their text ("5" equals 5, "true" equals true). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Whether one present value (not missing) passes a filter; a missing value is `undefined`. */
export function passes(filter: Filter, value: unknown): boolean {
  const present = value !== undefined && value !== null;
  switch (filter.op) {
    case 'is_set':
      return present;
    case 'is_not_set':
      return !present;
    case 'eq':
      return filter.value === null ? !present : present && text(value) === text(filter.value);
    case 'neq':
      return filter.value === null ? present : !present || text(value) !== text(filter.value);
    case 'in':
      return present && (filter.value as unknown[]).some((v) => text(v) === text(value));
    case 'not_in':
      return !present || !(filter.value as unknown[]).some((v) => text(v) === text(value));
    case 'contains':
      return present && text(value).toLowerCase().includes((filter.value as string).toLowerCase());
    case 'not_contains':
      return !present || !text(value).toLowerCase().includes((filter.value as string).toLowerCase());
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const n = numericValue(value);
      const bound = filter.value as number;
      if (n === undefined) return false;
      return filter.op === 'gt' ? n > bound : filter.op === 'gte' ? n >= bound : filter.op === 'lt' ? n < bound : n <= bound;
    }
  }
}

/** For each code of a column (and -1 = missing, at index 0), whether the filter passes. */
function passingCodes(filter: Filter, column: Column | undefined): Uint8Array {
  const values = column?.values ?? [];
  const pass = new Uint8Array(values.length + 1);
  pass[0] = passes(filter, undefined) ? 1 : 0;
  for (let i = 0; i < values.length; i++) pass[i + 1] = passes(filter, values[i]) ? 1 : 0;
  return pass;
}

/**
 * The rows of a segment that are `event` and pass every filter, as row indexes in
 * time order (an empty list when the segment never saw the event).
 */
export function matchingRows(segment: DaySegment, event: string | undefined, filters: readonly Filter[] = []): Int32Array {
  const eventCode = event === undefined ? -1 : segment.names.indexOf(event);
  if (event !== undefined && eventCode === -1) return new Int32Array(0);
  // The event's rows (all rows for any event), in time order.
  const candidates = eventCode === -1 ? undefined : segment.byEvent.rows.subarray(segment.byEvent.start[eventCode]!, segment.byEvent.start[eventCode + 1]!);
  const count = candidates?.length ?? segment.size;
  if (filters.length === 0) return candidates ?? Int32Array.from({ length: count }, (_, i) => i);
  const tests = filters.map((f) => {
    const column = segment.columns.get(columnName(f.property));
    return { codes: column?.codes, pass: passingCodes(f, column) };
  });
  const rows = new Int32Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const row = candidates === undefined ? i : candidates[i]!;
    let ok = true;
    for (const { codes, pass } of tests) {
      if (pass[codes === undefined ? 0 : codes[row]! + 1] === 0) {
        ok = false;
        break;
      }
    }
    if (ok) rows[n++] = row;
  }
  return rows.subarray(0, n);
}
