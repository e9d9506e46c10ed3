import { SignalboardError } from '../core/errors.js';
import type { ParsedEvents } from './body-parser.js';

/**
 * Segment's HTTP tracking API (segment.com/docs/connections/sources/catalog/libraries/server/http-api/)
 * read into our events, so Segment's SDKs send to Signalboard unchanged. Pure: the
 * routes are in segment-ingest.ts.
 */

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** Segment's own limits: 32 KB per message, 500 KB per batch request. */
export const SEGMENT_MAX_MESSAGE_BYTES = 32 * 1024;
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

/** The event each call becomes: track keeps its name; the others are named for their call. */
const EVENT_OF: Record<Exclude<SegmentType, 'track'>, string> = {
  identify: '$identify',
  page: '$page',
  screen: '$screen',
  group: '$group',
  alias: '$alias',
};

/** Our field → the Segment field it came from, so an error names what the client sent. */
const FIELD_OF: Record<SegmentType, Record<string, string>> = {
  track: { eventId: 'messageId' },
  identify: { eventId: 'messageId', properties: 'traits' },
  page: { eventId: 'messageId' },
  screen: { eventId: 'messageId' },
  group: { eventId: 'messageId', 'properties.traits': 'traits' },
  alias: { eventId: 'messageId' },
};

export interface SegmentRequest extends ParsedEvents {
  /** Each item's Segment type (undefined where it had none), to name fields in its errors. */
  types: (SegmentType | undefined)[];
}

type Message = Record<string, unknown>;

const isObject = (v: unknown): v is Message => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An id Segment allows as a number or a string; null and absent are both "not given". */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value : undefined;
}

function timeOf(message: Message, field: string): number | undefined | string {
  const value = message[field];
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? `${field} must be an ISO-8601 date, got ${JSON.stringify(value).slice(0, 40)}` : ms;
}

/**
 * When the event happened, as Segment documents it: `timestamp` when given (as is, so
 * backfills keep their time); else `originalTimestamp` corrected for the device's clock
 * by `receivedAt - (sentAt - originalTimestamp)`; else the receipt time (undefined).
 */
function whenOf(message: Message, batchSentAt: unknown, receivedAt: number): number | undefined | string {
  const timestamp = timeOf(message, 'timestamp');
  if (timestamp !== undefined) return timestamp;
  const original = timeOf(message, 'originalTimestamp');
  if (original === undefined || typeof original === 'string') return original;
  const sentAt = timeOf(message.sentAt === undefined ? { sentAt: batchSentAt } : message, 'sentAt');
  if (typeof sentAt === 'string') return sentAt;
  return sentAt === undefined ? original : receivedAt - (sentAt - original);
}

/** One Segment message as our event, or why it cannot be one. */
export function segmentEvent(message: unknown, type: SegmentType | undefined, batchSentAt: unknown, receivedAt: number): { event: Message } | { error: string } {
  if (!isObject(message)) return { error: 'a message must be a JSON object' };
  const bytes = Buffer.byteLength(JSON.stringify(message));
  if (bytes > SEGMENT_MAX_MESSAGE_BYTES) return { error: `the message is ${bytes} bytes; Segment's limit is ${SEGMENT_MAX_MESSAGE_BYTES} (32 KB)` };
  if (type === undefined) return { error: `"type" must be one of ${SEGMENT_TYPES.join(', ')}` };
  const when = whenOf(message, batchSentAt, receivedAt);
  if (typeof when === 'string') return { error: when };

  if (type === 'track' && (typeof message.event !== 'string' || message.event === '')) return { error: 'a track call needs "event", the event\'s name as a string' };
  const name = type === 'track' ? message.event : EVENT_OF[type];
  let properties: unknown = message.properties;
  if (type === 'identify') properties = message.traits;
  if (type === 'page' || type === 'screen') {
    const named = { ...(typeof message.name === 'string' ? { name: message.name } : {}), ...(typeof message.category === 'string' ? { category: message.category } : {}) };
    properties = isObject(properties) || properties === undefined ? { ...(properties as Message | undefined), ...named } : properties;
  }
  if (type === 'group') {
    const groupId = idOf(message.groupId);
    if (groupId === undefined) return { error: 'a group call needs "groupId"' };
    properties = { groupId, ...(message.traits === undefined ? {} : { traits: message.traits }) };
  }
  if (type === 'alias') {
    const previousId = idOf(message.previousId);
    if (previousId === undefined) return { error: 'an alias call needs "previousId"' };
    properties = { previousId };
  }

  const userId = idOf(message.userId);
  const anonymousId = idOf(message.anonymousId);
  const messageId = message.messageId;
  return {
    event: {
      event: name,
      ...(userId === undefined ? {} : { userId }),
      ...(anonymousId === undefined ? {} : { anonymousId }),
      ...(when === undefined ? {} : { timestamp: when }),
      ...(messageId === undefined || messageId === null ? {} : { eventId: messageId }),
      ...(properties === undefined || properties === null ? {} : { properties }),
      ...(message.context === undefined || message.context === null ? {} : { context: message.context }),
    },
  };
}

/** `writeKey` from a body, for clients that do not send it as the Basic user. */
export function bodyWriteKey(body: unknown): string | undefined {
  return isObject(body) && typeof body.writeKey === 'string' ? body.writeKey : undefined;
}

function typeOf(value: unknown): SegmentType | undefined {
  return SEGMENT_TYPES.find((t) => t === value);
}

/**
 * A Segment request body as our events: `/v1/batch` holds `{"batch": [...], "sentAt",
 * "writeKey"}`, each message naming its `type`; a single call (`/v1/track`, ...) is one
 * message of the route's type. A message that cannot be read keeps its index with the
 * reason, so it is rejected alone.
 */
export function readSegmentBody(body: unknown, route: SegmentType | 'batch', receivedAt: number, maxEvents: number): SegmentRequest {
  if (!isObject(body)) throw new SignalboardError('SB_BODY_UNREADABLE', route === 'batch' ? 'the body must be {"batch": [...]}' : `the body must be one ${route} message, a JSON object`);
  let messages: unknown[];
  if (route === 'batch') {
    if (!Array.isArray(body.batch)) throw new SignalboardError('SB_BODY_UNREADABLE', '"batch" must be an array of messages');
    messages = body.batch;
  } else {
    messages = [body];
  }
  if (messages.length === 0) throw new SignalboardError('SB_INGEST_EMPTY', 'the request holds no messages');
  if (messages.length > maxEvents) throw new SignalboardError('SB_INGEST_TOO_MANY_EVENTS', `the request holds ${messages.length} messages; the limit is ${maxEvents} (INGEST_MAX_EVENTS_PER_REQUEST)`);

  const items: unknown[] = [];
  const types: (SegmentType | undefined)[] = [];
  const unreadable = new Map<number, string>();
  messages.forEach((message, index) => {
    const type = route === 'batch' ? typeOf(isObject(message) ? message.type : undefined) : route;
    types.push(type);
    const read = segmentEvent(message, type, body.sentAt, receivedAt);
    if ('error' in read) {
      unreadable.set(index, read.error);
      items.push(undefined);
    } else {
      items.push(read.event);
    }
  });
  return { items, unreadable, types };
}

/** A validator error about one of our fields, said with the Segment field the client sent. */
export function segmentError(error: string, type: SegmentType | undefined): string {
  if (type === undefined) return error;
  for (const [ours, theirs] of Object.entries(FIELD_OF[type])) {
    if (error.startsWith(`${ours}:`) || error.startsWith(`${ours}.`)) return theirs + error.slice(ours.length);
  }
  return error;
}
