/**
 * A day segment as bytes, for keeping it beside the raw buckets (reports/segment-archive.ts)
 * so a cold start reads columns instead of parsing every event's JSON again. Pure.
 *
 * Layout (then deflated): a 4-byte length, a JSON header (names, actors, each column's
 * name and values, each array's width), then the arrays, each at an 8-byte boundary:
 * time (offsets from the day's start as uint32 when every time is a whole millisecond of
 * its day, else float64), event codes, actor codes, the actors' anonymous flags and
 * first times (float64), and per column its codes plus one (0 where the row lacks the
 * key). Codes take the narrowest of 1, 2 or 4 bytes that holds their dictionary.
 * `byEvent` is not stored: decoding rebuilds it in one pass.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { GRANULARITY_MS } from '../model/time-buckets.js';
import { groupRows, segmentBytes, type Column, type DaySegment } from './day-segment.js';

/** Bumped when the layout changes: a stored segment of another version is built again. */
export const SEGMENT_FORMAT = 1;

type Width = 1 | 2 | 4;

interface Header {
  format: number;
  day: number;
  size: number;
  names: string[];
  actors: string[];
  /** Whether `time` is stored as uint32 offsets from the day's start. */
  timeOffsets: boolean;
  eventWidth: Width;
  actorWidth: Width;
  columns: { name: string; values: unknown[]; width: Width }[];
}

/** Bytes per code for codes 0 … count - 1. */
function widthFor(count: number): Width {
  return count <= 0x100 ? 1 : count <= 0x10000 ? 2 : 4;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

export function encodeDaySegment(segment: DaySegment): Buffer {
  const dayStart = segment.day * GRANULARITY_MS.day;
  let timeOffsets = true;
  for (let row = 0; row < segment.size && timeOffsets; row++) {
    const offset = segment.time[row]! - dayStart;
    timeOffsets = Number.isInteger(offset) && offset >= 0 && offset < GRANULARITY_MS.day;
  }
  const columns = [...segment.columns].map(([name, column]) => ({ name, column, width: widthFor(column.values.length + 1) }));
  const header: Header = {
    format: SEGMENT_FORMAT,
    day: segment.day,
    size: segment.size,
    names: segment.names,
    actors: segment.actors,
    timeOffsets,
    eventWidth: widthFor(segment.names.length),
    actorWidth: widthFor(segment.actors.length),
    columns: columns.map(({ name, column, width }) => ({ name, values: column.values, width })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const actors = segment.actors.length;
  const size = segment.size;
  const arrays: { bytes: number; write: (at: ArrayBuffer, offset: number) => void }[] = [
    timeOffsets
      ? { bytes: 4 * size, write: (b, o) => new Uint32Array(b, o, size).set(segment.time.map((t) => t - dayStart)) }
      : { bytes: 8 * size, write: (b, o) => new Float64Array(b, o, size).set(segment.time) },
    codes(segment.event, header.eventWidth, 0),
    codes(segment.actor, header.actorWidth, 0),
    { bytes: actors, write: (b, o) => new Uint8Array(b, o, actors).set(segment.anonymous) },
    { bytes: 8 * actors, write: (b, o) => new Float64Array(b, o, actors).set(segment.actorFirst) },
    ...columns.map(({ column, width }) => codes(column.codes, width, 1)),
  ];
  let length = align8(4 + headerBytes.length);
  for (const a of arrays) length += align8(a.bytes);
  const out = new ArrayBuffer(length);
  new DataView(out).setUint32(0, headerBytes.length, true);
  new Uint8Array(out, 4).set(headerBytes);
  let offset = align8(4 + headerBytes.length);
  for (const a of arrays) {
    a.write(out, offset);
    offset += align8(a.bytes);
  }
  // Level 1: the columns shrink several times at a fraction of the CPU of higher levels.
  return deflateRawSync(new Uint8Array(out), { level: 1 });
}

/** Codes plus `shift` (so -1, "no value", stores as 0) in `width` bytes each. */
function codes(values: Int32Array, width: Width, shift: number): { bytes: number; write: (at: ArrayBuffer, offset: number) => void } {
  const n = values.length;
  return {
    bytes: width * n,
    write: (b, o) => {
      const target = width === 1 ? new Uint8Array(b, o, n) : width === 2 ? new Uint16Array(b, o, n) : new Uint32Array(b, o, n);
      for (let i = 0; i < n; i++) target[i] = values[i]! + shift;
    },
  };
}

export function decodeDaySegment(stored: Uint8Array): DaySegment {
  const inflated = inflateRawSync(stored);
  // Typed arrays over the bytes need the buffer's offsets aligned: copy when they are not.
  const bytes = inflated.byteOffset % 8 === 0 ? inflated : new Uint8Array(inflated);
  const buffer = bytes.buffer;
  const base = bytes.byteOffset;
  const headerLength = new DataView(buffer, base).getUint32(0, true);
  const header = JSON.parse(Buffer.from(buffer, base + 4, headerLength).toString('utf8')) as Header;
  if (header.format !== SEGMENT_FORMAT) throw new Error(`a stored day segment of format ${header.format}, not ${SEGMENT_FORMAT}`);
  const { size } = header;
  const actors = header.actors.length;
  let offset = base + align8(4 + headerLength);
  const take = (length: number) => {
    const at = offset;
    offset += align8(length);
    return at;
  };
  const dayStart = header.day * GRANULARITY_MS.day;
  const time = new Float64Array(size);
  if (header.timeOffsets) {
    const offsets = new Uint32Array(buffer, take(4 * size), size);
    for (let row = 0; row < size; row++) time[row] = offsets[row]! + dayStart;
  } else time.set(new Float64Array(buffer, take(8 * size), size));
  const readCodes = (width: Width, shift: number): Int32Array => {
    const at = take(width * size);
    const source = width === 1 ? new Uint8Array(buffer, at, size) : width === 2 ? new Uint16Array(buffer, at, size) : new Uint32Array(buffer, at, size);
    const out = new Int32Array(size);
    for (let row = 0; row < size; row++) out[row] = source[row]! - shift;
    return out;
  };
  const event = readCodes(header.eventWidth, 0);
  const actor = readCodes(header.actorWidth, 0);
  const anonymous = new Uint8Array(buffer, take(actors), actors).slice();
  const actorFirst = new Float64Array(buffer, take(8 * actors), actors).slice();
  const columns = new Map<string, Column>();
  for (const { name, values, width } of header.columns) columns.set(name, { codes: readCodes(width, 1), values });
  const segment = {
    day: header.day,
    size,
    time,
    event,
    names: header.names,
    actor,
    actors: header.actors,
    anonymous,
    actorFirst,
    columns,
    byEvent: groupRows(event, header.names.length),
  };
  return { ...segment, bytes: segmentBytes(segment) };
}
