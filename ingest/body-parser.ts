import { gunzipSync } from 'node:zlib';
import { SignalboardError } from '../core/errors.js';
import { bodyTooLarge, jsonErrorPosition, parseJsonBody } from '../core/http.js';

export type BodyFormat = 'json' | 'ndjson';

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines']);
// text/plain is what navigator.sendBeacon sends for a string body; it is read as JSON.
const JSON_TYPES = new Set(['application/json', 'text/plain']);

export function bodyFormat(contentType: string | undefined): BodyFormat {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === '' || JSON_TYPES.has(media) || media.endsWith('+json')) return 'json';
  if (NDJSON_TYPES.has(media)) return 'ndjson';
  throw new SignalboardError(
    'SB_BODY_UNSUPPORTED_TYPE',
    `Content-Type ${JSON.stringify(media)} is not accepted; send application/json, application/x-ndjson or text/plain`,
  );
}

/**
 * The body as sent, decoded: `Content-Encoding: gzip` (SDKs such as posthog-js compress
 * their batches) is inflated up to the same `maxBytes` as a plain body, so a small
 * bomb is a 413, not a process out of memory; any other encoding is a 415.
 */
export function decodeBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new SignalboardError('SB_BODY_UNSUPPORTED_TYPE', `Content-Encoding ${JSON.stringify(encoding)} is not accepted; send the body as is or gzip`);
  }
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw bodyTooLarge(maxBytes, 'once decompressed');
    throw new SignalboardError('SB_BODY_UNREADABLE', `the body is not valid gzip (${(err as { code?: string }).code ?? 'unreadable'})`);
  }
}

/** The events of a request, in order; an unreadable NDJSON line keeps its index with the reason. */
export interface ParsedEvents {
  items: unknown[];
  unreadable: Map<number, string>;
}

function checkCount(count: number, maxEvents: number): void {
  if (count === 0) throw new SignalboardError('SB_INGEST_EMPTY', 'the request holds no events');
  if (count > maxEvents) {
    throw new SignalboardError('SB_INGEST_TOO_MANY_EVENTS', `the request holds ${count} events; the limit is ${maxEvents} (INGEST_MAX_EVENTS_PER_REQUEST)`);
  }
}

/** A parsed JSON body as a list of events: one event, an array, or {"batch": [...]}. */
export function eventsFromJson(value: unknown, maxEvents: number): unknown[] {
  let items: unknown[];
  if (Array.isArray(value)) {
    items = value;
  } else if (value !== null && typeof value === 'object' && Object.hasOwn(value, 'batch')) {
    const batch = (value as { batch: unknown }).batch;
    if (!Array.isArray(batch)) throw new SignalboardError('SB_BODY_UNREADABLE', '"batch" must be an array of events');
    items = batch;
  } else if (value !== null && typeof value === 'object') {
    items = [value];
  } else {
    throw new SignalboardError('SB_BODY_UNREADABLE', 'the body must be an event object, an array of events or {"batch": [...]}');
  }
  checkCount(items.length, maxEvents);
  return items;
}

export function parseEventsBody(text: string, format: BodyFormat, maxEvents: number): ParsedEvents {
  if (format === 'json') return { items: eventsFromJson(parseJsonBody(text), maxEvents), unreadable: new Map() };
  const lines: Array<{ line: string; number: number }> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line !== '') lines.push({ line, number: i + 1 });
  });
  checkCount(lines.length, maxEvents);
  const items: unknown[] = [];
  const unreadable = new Map<number, string>();
  for (const { line, number } of lines) {
    try {
      items.push(JSON.parse(line));
    } catch (err) {
      unreadable.set(items.length, `line ${number} is not valid JSON${jsonErrorPosition((err as Error).message)}`);
      items.push(undefined);
    }
  }
  return { items, unreadable };
}
