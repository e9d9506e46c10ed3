import { SDK_VERSION } from './version.js';

export type Properties = Record<string, unknown>;

/** An event as `POST /v1/events` takes it (docs/api.md, "Sending events"). */
export interface WireEvent {
  event: string;
  eventId: string;
  timestamp: string;
  userId?: string;
  anonymousId?: string;
  properties?: Properties;
  context: Properties & { library: { name: string; version: string } };
}

/** What a caller gives for one event; the SDK adds the eventId, timestamp and library. */
export interface EventInput {
  event: string;
  userId?: string | undefined;
  anonymousId?: string | undefined;
  properties?: Properties | undefined;
  context?: Properties | undefined;
  timestamp?: Date | string | number | undefined;
  eventId?: string | undefined;
}

/** What building an event needs from its environment. */
export interface EventSource {
  library: 'signalboard-browser' | 'signalboard-node';
  now(): number;
  uuid(): string;
}

// The server's rules (ingest/event-validator.ts), checked here so a caller's mistake is
// reported at the call, not later as a rejected event.
const MAX_ID_LENGTH = 255;
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;

const isObject = (value: unknown): value is Properties => typeof value === 'object' && value !== null && !Array.isArray(value);

function idProblem(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) return `${name} must be a string of 1 to ${MAX_ID_LENGTH} characters`;
  return undefined;
}

function timestampMs(value: EventInput['timestamp']): number {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'string' ? Date.parse(value) : (value as number);
}

/** Why `properties` cannot be sent (undefined: they can, or there are none). */
export function propertiesProblem(properties: unknown): string | undefined {
  return properties !== undefined && !isObject(properties) ? 'properties must be an object' : undefined;
}

/** Why the event cannot be sent as given (its name, ids and properties), or undefined when it can. */
export function eventProblem(input: EventInput): string | undefined {
  if (typeof input.event !== 'string' || input.event.length === 0) return 'event must be a non-empty string (the event name)';
  const idError = idProblem(input.userId, 'userId') || idProblem(input.anonymousId, 'anonymousId');
  if (idError) return idError;
  if (input.userId === undefined && input.anonymousId === undefined) return `${input.event}: one of userId and anonymousId is required`;
  return propertiesProblem(input.properties);
}

/** The fields only a server-side caller sets: context, eventId and timestamp. */
export function callerFieldsProblem(input: EventInput): string | undefined {
  if (input.context !== undefined && !isObject(input.context)) return 'context must be an object';
  if (input.eventId !== undefined && (typeof input.eventId !== 'string' || !EVENT_ID.test(input.eventId))) return 'eventId must be 1 to 128 printable ASCII characters without spaces';
  if (input.timestamp !== undefined && !Number.isFinite(timestampMs(input.timestamp))) return 'timestamp must be a Date, an ISO-8601 string or epoch milliseconds';
  return undefined;
}

/**
 * The event to queue: its own eventId (the server counts one event per eventId, so a
 * retry never counts twice) and the time of the call, so a late delivery lands in the
 * right bucket. Properties are copied, so later changes by the caller are not sent.
 */
export function buildEvent(input: EventInput, source: EventSource): WireEvent {
  const event: WireEvent = {
    event: input.event,
    eventId: input.eventId || source.uuid(),
    timestamp: new Date(input.timestamp === undefined ? source.now() : timestampMs(input.timestamp)).toISOString(),
    context: { ...input.context, library: { name: source.library, version: SDK_VERSION } },
  };
  if (input.userId !== undefined) event.userId = input.userId;
  if (input.anonymousId !== undefined) event.anonymousId = input.anonymousId;
  if (input.properties !== undefined) event.properties = { ...input.properties };
  return event;
}
