/**
 * A day segment: one project's stored events of one UTC day as columns (docs/reports.md#query-storage),
 * what every report reads instead of the deflated JSON buckets. Pure: built from the
 * events in any order; its rows are in time order, so the rows a report selects from
 * consecutive days are in time order without a sort.
 *
 * - `time`, `event` (a code into `names`) and `actor` (a code into `actors`: the event's
 *   userId, or its anonymousId when it has none, `anonymous` telling which) per row;
 * - one column per property key (`plan`) and context key (`context.country`), holding a
 *   code into the column's `values` (-1 where the row lacks the key): dictionary codes
 *   make a filter or breakdown one comparison per row, decided once per distinct value.
 */
import type { StampedEvent } from '../model/event-stream.js';

export interface Column {
  /** Per row: index into `values`, or -1 when the row has no such key. */
  codes: Int32Array;
  values: unknown[];
}

export interface DaySegment {
  day: number;
  size: number;
  time: Float64Array;
  event: Int32Array;
  names: string[];
  actor: Int32Array;
  actors: string[];
  /** Per actor: 1 when it is an anonymousId (the event had no userId). */
  anonymous: Uint8Array;
  /** Per actor: the time of its first row (of any event) in the segment. */
  actorFirst: Float64Array;
  columns: Map<string, Column>;
  /** The rows of each event code, in time order: `byEvent.rows[byEvent.start[e]]` … `byEvent.rows[byEvent.start[e + 1] - 1]`. */
  byEvent: { start: Int32Array; rows: Int32Array };
  /** About how much memory the segment holds, for the cache's bound. */
  bytes: number;
}

/** The column name of a context key: the definitions' `context.<key>`. */
export const CONTEXT_PREFIX = 'context.';

class Dictionary<T> {
  readonly values: T[] = [];
  private readonly codes = new Map<T, number>();
  code(value: T): number {
    let code = this.codes.get(value);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(value);
      this.codes.set(value, code);
    }
    return code;
  }
}

/** A property value as a dictionary key: scalars as themselves, objects and arrays by their JSON (kept as JSON text). */
function dictionaryKey(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? `\u0000json:${JSON.stringify(value)}` : value;
}

/** A dictionary key back to the value a filter or breakdown sees. */
function dictionaryValue(key: unknown): unknown {
  return typeof key === 'string' && key.startsWith('\u0000json:') ? JSON.parse(key.slice(6)) : key;
}

export function buildDaySegment(day: number, unordered: readonly StampedEvent[]): DaySegment {
  const events = [...unordered].sort((a, b) => a.timestamp - b.timestamp);
  const size = events.length;
  const time = new Float64Array(size);
  const event = new Int32Array(size);
  const actor = new Int32Array(size);
  const names = new Dictionary<string>();
  // Actors: userIds and anonymousIds apart (the same text may be both), one code space.
  const actorIds: string[] = [];
  const userActors = new Map<string, number>();
  const anonymousActors = new Map<string, number>();
  const anonymousFlags: number[] = [];
  const actorFirst: number[] = [];
  const columns = new Map<string, { codes: Int32Array; dictionary: Dictionary<unknown> }>();
  const column = (name: string) => {
    let found = columns.get(name);
    if (found === undefined) columns.set(name, (found = { codes: new Int32Array(size).fill(-1), dictionary: new Dictionary() }));
    return found;
  };
  // Context keys by their key, so a row does not build "context.<key>" again.
  const contextColumns = new Map<string, { codes: Int32Array; dictionary: Dictionary<unknown> }>();
  for (let row = 0; row < size; row++) {
    const e = events[row]!;
    time[row] = e.timestamp;
    event[row] = names.code(e.event);
    const anonymous = e.userId === undefined;
    const id = anonymous ? e.anonymousId! : e.userId!;
    const known = anonymous ? anonymousActors : userActors;
    let code = known.get(id);
    if (code === undefined) {
      code = actorIds.push(id) - 1;
      known.set(id, code);
      anonymousFlags.push(anonymous ? 1 : 0);
      actorFirst.push(e.timestamp);
    }
    actor[row] = code;
    for (const key in e.properties) {
      const c = column(key);
      c.codes[row] = c.dictionary.code(dictionaryKey(e.properties[key]));
    }
    for (const key in e.context) {
      let c = contextColumns.get(key);
      if (c === undefined) contextColumns.set(key, (c = column(CONTEXT_PREFIX + key)));
      c.codes[row] = c.dictionary.code(dictionaryKey(e.context[key]));
    }
  }
  const built = new Map<string, Column>();
  for (const [name, { codes, dictionary }] of columns) {
    built.set(name, { codes, values: dictionary.values.map(dictionaryValue) });
  }
  const segment = {
    day,
    size,
    time,
    event,
    names: names.values,
    actor,
    actors: actorIds,
    anonymous: Uint8Array.from(anonymousFlags),
    actorFirst: Float64Array.from(actorFirst),
    columns: built,
    byEvent: groupRows(event, names.values.length),
  };
  return { ...segment, bytes: segmentBytes(segment) };
}

/**
 * Row numbers grouped by their code (0 … groups - 1), each group in row order (a counting
 * sort): the rows of code c are rows[start[c]] … rows[start[c + 1] - 1]. A segment's rows
 * by event, a report's rows by person or by breakdown label.
 */
export function groupRows(codes: Int32Array, groups: number): { start: Int32Array; rows: Int32Array } {
  const start = new Int32Array(groups + 1);
  for (let row = 0; row < codes.length; row++) start[codes[row]! + 1]!++;
  for (let c = 0; c < groups; c++) start[c + 1]! += start[c]!;
  const next = start.slice(0, groups);
  const rows = new Int32Array(codes.length);
  for (let row = 0; row < codes.length; row++) rows[next[codes[row]!]!++] = row;
  return { start, rows };
}

/** About how much memory a segment holds: its arrays and, roughly, its texts. */
export function segmentBytes(segment: Omit<DaySegment, 'bytes'>): number {
  let text = 0;
  for (const a of segment.actors) text += 2 * a.length + 16;
  for (const { values } of segment.columns.values()) for (const v of values) text += typeof v === 'string' ? 2 * v.length + 16 : 16;
  return segment.size * (8 + 4 + 4 + 4 + 4 * segment.columns.size) + segment.actors.length * 9 + text;
}
