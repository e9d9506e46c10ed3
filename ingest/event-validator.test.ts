import { describe, expect, it } from 'vitest';
import type { StampedEvent } from '../model/event-stream.js';
import { escapeKey } from '../model/field-names.js';
import { createEventValidator, peerIpFor, type EventLimits, type RequestMeta } from './event-validator.js';

const limits: EventLimits = {
  maxEventNameLength: 200,
  maxEventBytes: 32 * 1024,
  maxProperties: 256,
  maxPropertyDepth: 8,
  maxEventAgeDays: 365,
  maxFutureSeconds: 600,
  ipStorage: 'truncated',
};
const NOW = Date.parse('2026-06-15T12:00:00Z');
const meta: RequestMeta = { projectId: 'p1', receivedAt: NOW, userAgent: 'test-agent/1.0', peerIp: peerIpFor('203.0.113.77', 'truncated') };
const validate = createEventValidator(limits);

function accept(raw: unknown, options: Partial<RequestMeta> = {}): StampedEvent {
  const result = validate(raw, { ...meta, ...options });
  if (!result.ok) throw new Error(`expected acceptance, got ${result.errors.join('; ')}`);
  return JSON.parse(result.json) as StampedEvent;
}

function reject(raw: unknown): string[] {
  const result = validate(raw, meta);
  if (result.ok) throw new Error(`expected rejection of ${JSON.stringify(raw)}`);
  return result.errors;
}

describe('event validation: what clients send that must be refused, with the reason', () => {
  it.each([
    ['a string instead of an object', 'click', /an event must be a JSON object/],
    ['null', null, /an event must be a JSON object/],
    ['an array', [1], /an event must be a JSON object/],
    ['no event name', { userId: 'u' }, /event: required/],
    ['an empty event name', { event: '', userId: 'u' }, /event: must not be empty/],
    ['an event name too long', { event: 'x'.repeat(201), userId: 'u' }, /event: must be at most 200 bytes in UTF-8 \(got 201; INGEST_MAX_EVENT_NAME_LENGTH\)/],
    ['an event name short in characters but long in UTF-8 bytes (a burst of CJK names)', { event: '名'.repeat(67), userId: 'u' }, /event: must be at most 200 bytes in UTF-8 \(got 201/],
    ['an unpaired surrogate in the name (the stored id would not be the one written)', { event: 'a\ud800', userId: 'u' }, /event: is not valid Unicode/],
    ['an unpaired low surrogate in a userId', { event: 'e', userId: '\udc00u' }, /userId: is not valid Unicode/],
    ['an unpaired surrogate in an anonymousId', { event: 'e', anonymousId: 'x\ud83d' }, /anonymousId: is not valid Unicode/],
    ['a NUL in a userId', { event: 'e', userId: 'a\u0000b' }, /userId: must not contain control characters/],
    ['a control character in an anonymousId', { event: 'e', anonymousId: 'a\nb' }, /anonymousId: must not contain control characters/],
    ['a userId over 255 bytes in UTF-8', { event: 'e', userId: 'é'.repeat(128) }, /userId: must be at most 255 bytes in UTF-8 \(got 256\)/],
    ['a numeric event name', { event: 42, userId: 'u' }, /event: must be string/],
    ['a control character in the name', { event: 'a\u0007b', userId: 'u' }, /event: must not contain control characters/],
    ['no user at all', { event: 'e' }, /one of userId and anonymousId is required/],
    ['a numeric userId', { event: 'e', userId: 7 }, /userId: must be string/],
    ['an unknown top-level field (a typo)', { event: 'e', userId: 'u', propertes: {} }, /unknown field "propertes"/],
    ['properties as an array', { event: 'e', userId: 'u', properties: [1, 2] }, /properties: must be object/],
    ['properties as null', { event: 'e', userId: 'u', properties: null }, /properties: must be object/],
    ['epoch seconds by mistake', { event: 'e', userId: 'u', timestamp: 1781524800 }, /looks like epoch seconds/],
    ['a fractional epoch', { event: 'e', userId: 'u', timestamp: 1781524800000.5 }, /whole number/],
    ['a date without time', { event: 'e', userId: 'u', timestamp: '2026-06-15' }, /not an ISO-8601 date-time/],
    ['a time without zone', { event: 'e', userId: 'u', timestamp: '2026-06-15T10:00:00' }, /not an ISO-8601 date-time/],
    ['an impossible date', { event: 'e', userId: 'u', timestamp: '2026-02-30T10:00:00Z' }, /not an ISO-8601 date-time/],
    ['a timestamp older than the retention', { event: 'e', userId: 'u', timestamp: '2025-06-01T00:00:00Z' }, /more than 365 days old/],
    ['a timestamp 11 minutes ahead', { event: 'e', userId: 'u', timestamp: NOW + 11 * 60_000 }, /seconds in the future/],
    ['a timestamp past the Date range', { event: 'e', userId: 'u', timestamp: 1e16 }, /timestamp: 10000000000000000 is more than 600 seconds in the future/],
    ['a huge negative timestamp', { event: 'e', userId: 'u', timestamp: -1e16 }, /looks like epoch seconds/],
    ['a float beyond safe integers', { event: 'e', userId: 'u', timestamp: 1e308 }, /timestamp: 1e\+308 is more than 600 seconds in the future/],
    ['an eventId with spaces', { event: 'e', userId: 'u', eventId: 'a b' }, /eventId: must be printable ASCII/],
    ['a __proto__ property', JSON.parse('{"event":"e","userId":"u","properties":{"__proto__":{"admin":true}}}'), /properties.__proto__: the key "__proto__" is not allowed/],
    ['a nested __proto__', JSON.parse('{"event":"e","userId":"u","properties":{"a":{"__proto__":1}}}'), /properties.a.__proto__/],
    ['an empty key', { event: 'e', userId: 'u', properties: { '': 1 } }, /empty keys are not allowed/],
    ['a NUL in a key', { event: 'e', userId: 'u', properties: { 'a\u0000b': 1 } }, /NUL/],
    ['a key and its escaped twin', { event: 'e', userId: 'u', properties: { 'a.b': 1, 'a\uFF0Eb': 2 } }, /collides/],
  ])('refuses %s', (_case, raw, message) => {
    expect(reject(raw).join('\n')).toMatch(message);
  });

  it('reports every problem of one event, not only the first', () => {
    const errors = reject({ event: '', userId: 5, extra: true });
    expect(errors).toHaveLength(3);
  });

  it('refuses properties nested deeper than the limit without walking them all', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    expect(reject({ event: 'e', userId: 'u', properties: deep }).join()).toMatch(/nested deeper than 8 levels/);
  });

  it('refuses more keys than the limit', () => {
    const properties = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    expect(reject({ event: 'e', userId: 'u', properties }).join()).toMatch(/more than 256 keys/);
  });

  it('refuses an event larger than the byte limit, counting UTF-8 bytes', () => {
    expect(reject({ event: 'e', userId: 'u', properties: { text: '€'.repeat(11_000) } }).join()).toMatch(/bytes stored; the limit is 32768/);
  });
});

describe('event validation: what is accepted and how it is stamped', () => {
  it('stamps project, receipt time, a generated eventId, the user agent and a truncated IP', () => {
    const event = accept({ event: 'signup', userId: 'u1', properties: { plan: 'pro' } });
    expect(event).toMatchObject({ projectId: 'p1', event: 'signup', userId: 'u1', timestamp: NOW, receivedAt: NOW, properties: { plan: 'pro' } });
    expect(event.eventId).toMatch(/^[0-9a-f-]{36}$/);
    // Marked as server-made: the aggregator skips its deduplication.
    expect(event.generated).toBe(true);
    expect(event.context).toEqual({ userAgent: 'test-agent/1.0', ip: '203.0.113.0' });
  });

  it("keeps the client's eventId, anonymousId and its own user agent", () => {
    const event = accept({ event: 'e', anonymousId: 'anon-1', eventId: 'evt-123', context: { userAgent: 'sdk/2' } });
    expect(event).toMatchObject({ eventId: 'evt-123', anonymousId: 'anon-1', context: { userAgent: 'sdk/2' } });
    expect(event.userId).toBeUndefined();
    expect(event.generated).toBeUndefined();
  });

  it.each([
    ['ISO with Z', '2026-06-15T11:59:00Z', Date.parse('2026-06-15T11:59:00Z')],
    ['ISO with offset', '2026-06-15T13:59:00+02:00', Date.parse('2026-06-15T11:59:00Z')],
    ['ISO with milliseconds', '2026-06-15T11:59:00.123Z', Date.parse('2026-06-15T11:59:00.123Z')],
    ['epoch ms', NOW - 5000, NOW - 5000],
    ['364 days old (an offline queue or backfill)', NOW - 364 * 86_400_000, NOW - 364 * 86_400_000],
    ['9 minutes ahead (a fast client clock)', NOW + 9 * 60_000, NOW + 9 * 60_000],
  ])('accepts a timestamp as %s', (_case, timestamp, expected) => {
    expect(accept({ event: 'e', userId: 'u', timestamp }).timestamp).toBe(expected);
  });

  it('accepts unicode event names and property keys', () => {
    expect(accept({ event: '購入完了 🎉', userId: 'ユーザー', properties: { 'clé': 'été' } })).toMatchObject({ event: '購入完了 🎉', properties: { 'clé': 'été' } });
    // Paired surrogates (an emoji) are valid Unicode; 200 bytes is the limit, not 200 characters; NUL in values is kept (the aggregator maps it where a value becomes a name).
    expect(accept({ event: '🎉'.repeat(50), userId: '😀', properties: { note: 'a\u0000b' } })).toMatchObject({ event: '🎉'.repeat(50), properties: { note: 'a\u0000b' } });
  });

  it('escapes $-prefixed and dotted keys at every depth so none reaches MongoDB as an operator or path', () => {
    const event = accept({ event: 'e', userId: 'u', properties: { $where: 'sleep(1)', 'a.b': 1, nested: [{ $gt: 1, 'x.y.z': 2 }], keep$: 3 } });
    expect(event.properties).toEqual({ '\uFF04where': 'sleep(1)', 'a\uFF0Eb': 1, nested: [{ '\uFF04gt': 1, 'x\uFF0Ey\uFF0Ez': 2 }], keep$: 3 });
    expect(escapeKey('$a.b')).toBe('\uFF04a\uFF0Eb');
    expect(escapeKey('__proto__')).toBe('\uFF3F\uFF3Fproto\uFF3F\uFF3F');
    expect(escapeKey('a$b')).toBe('a$b');
  });

  it('never stores a whole IP: a client-given context.ip is truncated, and none is kept when storage is off', () => {
    expect(accept({ event: 'e', userId: 'u', context: { ip: '198.51.100.23' } }).context.ip).toBe('198.51.100.0');
    const none = createEventValidator({ ...limits, ipStorage: 'none' });
    const result = none({ event: 'e', userId: 'u', context: { ip: '198.51.100.23' } }, { ...meta, peerIp: peerIpFor('203.0.113.77', 'none') });
    expect(result.ok).toBe(true);
    expect(result.ok && (JSON.parse(result.json) as StampedEvent).context).toEqual({ userAgent: 'test-agent/1.0' });
  });
});
