import { randomUUID } from 'node:crypto';
import { Ajv, type ErrorObject } from 'ajv';
import type { StampedEvent } from '../model/event-stream.js';
import { escapeKey } from '../model/field-names.js';
import { unstorableText } from '../model/store-text.js';
import { truncateIp } from './ip-address.js';

export interface EventLimits {
  /** In UTF-8 bytes. */
  maxEventNameLength: number;
  maxEventBytes: number;
  maxProperties: number;
  maxPropertyDepth: number;
  maxEventAgeDays: number;
  maxFutureSeconds: number;
  ipStorage: 'truncated' | 'none';
}

/** What the server knows of the request an event came in. */
export interface RequestMeta {
  projectId: string;
  receivedAt: number;
  userAgent: string | undefined;
  /** The peer's address, already truncated per INGEST_IP_STORAGE (undefined: keep none). */
  peerIp: string | undefined;
}

export type ValidationResult =
  | { ok: true; event: StampedEvent; json: string; distinctId: string; /** As the client sent it (undefined: the server made one). */ clientEventId?: string }
  | { ok: false; errors: string[] };

const FIELDS = ['event', 'userId', 'anonymousId', 'timestamp', 'eventId', 'properties', 'context'];
const MAX_ERRORS_PER_EVENT = 10;
const MAX_KEY_LENGTH = 256;
const MAX_ID_BYTES = 255;
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
// Epoch milliseconds before 1973-03-03 are almost surely epoch seconds sent by mistake.
const SMALLEST_EPOCH_MS = 1e11;

const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F]*$';

function schemaFor() {
  // Byte lengths and well-formed Unicode are checked after the shape (textProblem).
  const id = { type: 'string', minLength: 1, pattern: NO_CONTROL_CHARACTERS };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['event'],
    properties: {
      event: { type: 'string', minLength: 1, pattern: NO_CONTROL_CHARACTERS },
      userId: id,
      anonymousId: id,
      timestamp: { type: ['string', 'number'] },
      eventId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\u0021-\\u007E]+$' },
      properties: { type: 'object' },
      context: { type: 'object' },
    },
  };
}

function describe(error: ErrorObject): string {
  const field = error.instancePath.slice(1).replaceAll('/', '.');
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown field ${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)} (allowed: ${FIELDS.join(', ')})`;
    case 'required':
      return `${(error.params as { missingProperty: string }).missingProperty}: required`;
    case 'type':
      return field === '' ? 'an event must be a JSON object' : `${field}: must be ${String((error.params as { type: string | string[] }).type).replace(',', ' or ')}`;
    case 'minLength':
      return `${field}: must not be empty`;
    case 'maxLength':
      return `${field}: must be at most ${(error.params as { limit: number }).limit} characters`;
    case 'pattern':
      return field === 'eventId' ? `${field}: must be printable ASCII without spaces` : `${field}: must not contain control characters`;
    default:
      return `${field}: ${error.message ?? 'invalid'}`;
  }
}

/** Bytes of `text` in UTF-8 where it could pass `limit`; below that, its length, also below `limit` (a UTF-16 unit is at most 3 bytes). */
function utf8Bytes(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text);
}

/** A name or id that is too long in UTF-8, or that the store would not keep as sent (model/store-text.ts). */
function textProblem(field: string, value: string | undefined, maxBytes: number, setting?: string): string | undefined {
  if (value === undefined) return undefined;
  const unstorable = unstorableText(value);
  if (unstorable !== undefined) return `${field}: ${unstorable}`;
  const bytes = utf8Bytes(value, maxBytes);
  if (bytes > maxBytes) return `${field}: must be at most ${maxBytes} bytes in UTF-8 (got ${bytes}${setting === undefined ? '' : `; ${setting}`})`;
  return undefined;
}

function keyProblem(key: string): string | undefined {
  if (key === '__proto__') return 'the key "__proto__" is not allowed';
  if (key === '') return 'empty keys are not allowed';
  if (key.length > MAX_KEY_LENGTH) return `keys may be at most ${MAX_KEY_LENGTH} characters`;
  if (key.includes('\u0000')) return 'keys may not contain NUL characters';
  return undefined;
}

/**
 * Walks a properties/context tree without recursion (nesting depth comes from the
 * client): bounds its depth and key count, rejects unsafe keys, escapes `$` and `.`.
 */
function sanitizeTree(root: Record<string, unknown>, label: string, limits: EventLimits, errors: string[]): void {
  let keys = 0;
  const stack: Array<{ value: object; depth: number; path: string }> = [{ value: root, depth: 1, path: label }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (depth > limits.maxPropertyDepth) {
      errors.push(`${label}: nested deeper than ${limits.maxPropertyDepth} levels (INGEST_MAX_PROPERTY_DEPTH)`);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value as unknown[]) {
        if (item !== null && typeof item === 'object') stack.push({ value: item, depth: depth + 1, path: `${path}[]` });
      }
      continue;
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (++keys > limits.maxProperties) {
        errors.push(`${label}: more than ${limits.maxProperties} keys (INGEST_MAX_PROPERTIES)`);
        return;
      }
      const problem = keyProblem(key);
      if (problem !== undefined) {
        errors.push(`${path}.${key}: ${problem}`);
        continue;
      }
      let name = key;
      if (key.startsWith('$') || key.includes('.')) {
        name = escapeKey(key);
        if (Object.hasOwn(obj, name)) {
          errors.push(`${path}.${key}: collides with the key ${JSON.stringify(name)} it is stored as`);
          continue;
        }
        obj[name] = obj[key];
        delete obj[key];
      }
      const child = obj[name];
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1, path: `${path}.${name}` });
    }
  }
}

/** Date.parse alone rolls 2026-02-30 over into March; the calendar date is checked first. */
function isoToEpochMs(value: string): number {
  const match = ISO_DATE_TIME.exec(value);
  if (match === null) return NaN;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return NaN;
  return Date.parse(value);
}

/** toISOString throws past ±8.64e15 ms; messages must never throw. */
function describeInstant(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

function parseTimestamp(value: string | number, meta: RequestMeta, limits: EventLimits, errors: string[]): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      errors.push('timestamp: epoch milliseconds must be a whole number');
      return undefined;
    }
    if (value < SMALLEST_EPOCH_MS) {
      errors.push(`timestamp: ${value} looks like epoch seconds; send epoch milliseconds or an ISO-8601 string`);
      return undefined;
    }
    ms = value;
  } else {
    ms = isoToEpochMs(value);
    if (Number.isNaN(ms)) {
      errors.push(`timestamp: ${JSON.stringify(value.slice(0, 40))} is not an ISO-8601 date-time with a time zone (e.g. 2026-01-31T12:00:00Z)`);
      return undefined;
    }
  }
  if (ms < meta.receivedAt - limits.maxEventAgeDays * 86_400_000) {
    errors.push(`timestamp: ${describeInstant(ms)} is more than ${limits.maxEventAgeDays} days old (INGEST_MAX_EVENT_AGE_DAYS)`);
    return undefined;
  }
  if (ms > meta.receivedAt + limits.maxFutureSeconds * 1000) {
    errors.push(`timestamp: ${describeInstant(ms)} is more than ${limits.maxFutureSeconds} seconds in the future (INGEST_MAX_FUTURE_SECONDS)`);
    return undefined;
  }
  return ms;
}

/** Only a truncated address is ever stored (or none); a client-supplied context.ip is truncated too. */
function stampContext(context: Record<string, unknown>, meta: RequestMeta, limits: EventLimits): Record<string, unknown> {
  if (context.userAgent === undefined && meta.userAgent !== undefined) context.userAgent = meta.userAgent;
  const ip = typeof context.ip === 'string' ? peerIpFor(context.ip, limits.ipStorage) : meta.peerIp;
  if (ip === undefined) delete context.ip;
  else context.ip = ip;
  return context;
}

/** What may be stored of an address under the IP policy: its network, or nothing. */
export function peerIpFor(address: string | undefined, policy: EventLimits['ipStorage']): string | undefined {
  return policy === 'truncated' && address !== undefined ? truncateIp(address) : undefined;
}

interface RawEvent {
  event: string;
  userId?: string;
  anonymousId?: string;
  timestamp?: string | number;
  eventId?: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/** Compiles the event schema once; the returned function validates and stamps one event. */
export function createEventValidator(limits: EventLimits): (raw: unknown, meta: RequestMeta) => ValidationResult {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validateShape = ajv.compile<RawEvent>(schemaFor());

  return (raw, meta) => {
    if (!validateShape(raw)) {
      return { ok: false, errors: (validateShape.errors ?? []).slice(0, MAX_ERRORS_PER_EVENT).map(describe) };
    }
    const errors: string[] = [];
    for (const problem of [
      textProblem('event', raw.event, limits.maxEventNameLength, 'INGEST_MAX_EVENT_NAME_LENGTH'),
      textProblem('userId', raw.userId, MAX_ID_BYTES),
      textProblem('anonymousId', raw.anonymousId, MAX_ID_BYTES),
    ]) {
      if (problem !== undefined) errors.push(problem);
    }
    const distinctId = raw.userId ?? raw.anonymousId;
    if (distinctId === undefined) errors.push('one of userId and anonymousId is required');
    const timestamp = raw.timestamp === undefined ? meta.receivedAt : parseTimestamp(raw.timestamp, meta, limits, errors);
    if (raw.properties !== undefined) sanitizeTree(raw.properties, 'properties', limits, errors);
    const context = raw.context ?? {};
    sanitizeTree(context, 'context', limits, errors);
    if (errors.length > 0 || distinctId === undefined || timestamp === undefined) {
      return { ok: false, errors: errors.slice(0, MAX_ERRORS_PER_EVENT) };
    }

    const stamped: StampedEvent = {
      eventId: raw.eventId ?? randomUUID(),
      projectId: meta.projectId,
      event: raw.event,
      ...(raw.userId === undefined ? {} : { userId: raw.userId }),
      ...(raw.anonymousId === undefined ? {} : { anonymousId: raw.anonymousId }),
      timestamp,
      receivedAt: meta.receivedAt,
      ...(raw.properties === undefined ? {} : { properties: raw.properties }),
      context: stampContext(context, meta, limits),
      ...(raw.eventId === undefined ? { generated: true as const } : {}),
    };
    const json = JSON.stringify(stamped);
    const bytes = utf8Bytes(json, limits.maxEventBytes);
    if (bytes > limits.maxEventBytes) {
      return { ok: false, errors: [`the event is ${bytes} bytes stored; the limit is ${limits.maxEventBytes} (INGEST_MAX_EVENT_BYTES)`] };
    }
    return { ok: true, event: stamped, json, distinctId, ...(raw.eventId === undefined ? {} : { clientEventId: raw.eventId }) };
  };
}
