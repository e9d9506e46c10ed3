import { describe, expect, it } from 'vitest';
import { SignalboardError } from '../core/errors.js';
import { bodyWriteKey, readSegmentBody, segmentError, segmentEvent, type SegmentType } from './segment-messages.js';
import { segmentCredentials } from './segment-ingest.js';

const RECEIVED = Date.parse('2026-12-02T12:00:00.000Z');
const T = '2026-12-02T11:59:00.000Z';

describe('Segment messages as events', () => {
  it.each<[string, SegmentType, Record<string, unknown>, Record<string, unknown>]>([
    ['a track keeps its name, properties, messageId (as eventId) and context',
      'track', { event: 'Order Completed', userId: 'u1', messageId: 'node-next-1', timestamp: T, properties: { total: 30 }, context: { library: { name: 'analytics-node' } } },
      { event: 'Order Completed', userId: 'u1', eventId: 'node-next-1', timestamp: Date.parse(T), properties: { total: 30 }, context: { library: { name: 'analytics-node' } } }],
    ['an identify is "$identify" with the traits as properties',
      'identify', { userId: 'u1', traits: { plan: 'pro' }, timestamp: T },
      { event: '$identify', userId: 'u1', timestamp: Date.parse(T), properties: { plan: 'pro' } }],
    ['a page is "$page" with its name and category among the properties',
      'page', { anonymousId: 'a1', name: 'Pricing', category: 'Docs', properties: { path: '/pricing' }, timestamp: T },
      { event: '$page', anonymousId: 'a1', timestamp: Date.parse(T), properties: { path: '/pricing', name: 'Pricing', category: 'Docs' } }],
    ['a screen is "$screen"',
      'screen', { userId: 'u1', name: 'Home', timestamp: T },
      { event: '$screen', userId: 'u1', timestamp: Date.parse(T), properties: { name: 'Home' } }],
    ['a group is "$group" with the groupId and its traits',
      'group', { userId: 'u1', groupId: 'acme', traits: { seats: 5 }, timestamp: T },
      { event: '$group', userId: 'u1', timestamp: Date.parse(T), properties: { groupId: 'acme', traits: { seats: 5 } } }],
    ['an alias is "$alias" with the previousId',
      'alias', { userId: 'u2', previousId: 'a1', timestamp: T },
      { event: '$alias', userId: 'u2', timestamp: Date.parse(T), properties: { previousId: 'a1' } }],
    ['numeric ids are strings, null ids are absent, and unknown Segment fields are dropped',
      'track', { event: 'e', userId: 42, anonymousId: null, integrations: { All: true }, channel: 'server', version: 2, timestamp: T },
      { event: 'e', userId: '42', timestamp: Date.parse(T) }],
  ])('%s', (_, type, message, expected) => {
    expect(segmentEvent(message, type, undefined, RECEIVED)).toEqual({ event: expected });
  });

  it.each<[string, Record<string, unknown>, unknown, number | undefined]>([
    ['timestamp as given, even with sentAt (backfills keep their time)', { timestamp: '2026-11-01T00:00:00Z', originalTimestamp: T, sentAt: T }, undefined, Date.parse('2026-11-01T00:00:00Z')],
    ['originalTimestamp corrected by the device clock: receivedAt - (sentAt - originalTimestamp)', { originalTimestamp: '2026-12-02T12:09:50Z', sentAt: '2026-12-02T12:10:00Z' }, undefined, RECEIVED - 10_000],
    ['the batch\'s sentAt when the message has none', { originalTimestamp: '2026-12-02T12:09:50Z' }, '2026-12-02T12:10:00Z', RECEIVED - 10_000],
    ['originalTimestamp as is without any sentAt', { originalTimestamp: T }, undefined, Date.parse(T)],
    ['the receipt time when no time is given (the validator stamps it)', {}, '2026-12-02T12:10:00Z', undefined],
  ])('when: %s', (_, times, batchSentAt, expected) => {
    const read = segmentEvent({ event: 'e', userId: 'u', ...times }, 'track', batchSentAt, RECEIVED);
    expect(read).toEqual({ event: { event: 'e', userId: 'u', ...(expected === undefined ? {} : { timestamp: expected }) } });
  });

  it.each<[string, unknown, SegmentType | undefined, string]>([
    ['not an object', 'track me', 'track', 'a message must be a JSON object'],
    ['no type in a batch', { event: 'e', userId: 'u' }, undefined, '"type" must be one of track, identify, page, screen, group, alias'],
    ['a track without event', { userId: 'u' }, 'track', 'a track call needs "event", the event\'s name as a string'],
    ['a group without groupId', { userId: 'u' }, 'group', 'a group call needs "groupId"'],
    ['an alias without previousId', { userId: 'u' }, 'alias', 'an alias call needs "previousId"'],
    ['a timestamp that is no date', { event: 'e', userId: 'u', timestamp: 'yesterday' }, 'track', 'timestamp must be an ISO-8601 date, got "yesterday"'],
    ['a bad sentAt', { event: 'e', userId: 'u', originalTimestamp: T, sentAt: 5 }, 'track', 'sentAt must be an ISO-8601 date, got 5'],
    ['over 32 KB', { event: 'e', userId: 'u', properties: { blob: 'x'.repeat(33 * 1024) } }, 'track', 'the message is 33843 bytes; Segment\'s limit is 32768 (32 KB)'],
  ])('refuses %s, saying why', (_, message, type, error) => {
    expect(segmentEvent(message, type, undefined, RECEIVED)).toEqual({ error });
  });

  it.each([
    ['a string', { writeKey: 'sbw_x', batch: [] }, 'sbw_x'],
    ['a number', { writeKey: 5 }, undefined],
    ['an array body', [{ writeKey: 'sbw_x' }], undefined],
    ['no body', null, undefined],
  ])('takes writeKey from the body when it is %s', (_, body, key) => {
    expect(bodyWriteKey(body)).toBe(key);
  });

  it('reads a batch message by message: a bad one keeps its index, the others are read', () => {
    const request = readSegmentBody({ writeKey: 'sbw_x', sentAt: T, batch: [
      { type: 'track', event: 'a', userId: 'u', timestamp: T },
      { type: 'bogus', userId: 'u' },
      { type: 'identify', userId: 'u', timestamp: T },
    ] }, 'batch', RECEIVED, 10);
    expect(request.types).toEqual(['track', undefined, 'identify']);
    expect(request.items).toEqual([{ event: 'a', userId: 'u', timestamp: Date.parse(T) }, undefined, { event: '$identify', userId: 'u', timestamp: Date.parse(T) }]);
    expect([...request.unreadable]).toEqual([[1, '"type" must be one of track, identify, page, screen, group, alias']]);
  });

  it('reads a single call as one message of the route\'s type, whatever its own type says', () => {
    const request = readSegmentBody({ type: 'identify', event: 'a', userId: 'u', timestamp: T }, 'track', RECEIVED, 10);
    expect(request.items).toEqual([{ event: 'a', userId: 'u', timestamp: Date.parse(T) }]);
  });

  it.each<[string, unknown, 'batch' | SegmentType, string, string]>([
    ['a body that is no object', [1], 'batch', 'SB_BODY_UNREADABLE', 'the body must be {"batch": [...]}'],
    ['a batch that is no array', { batch: {} }, 'batch', 'SB_BODY_UNREADABLE', '"batch" must be an array of messages'],
    ['an empty batch', { batch: [] }, 'batch', 'SB_INGEST_EMPTY', 'the request holds no messages'],
    ['too many messages', { batch: [{}, {}, {}] }, 'batch', 'SB_INGEST_TOO_MANY_EVENTS', 'the request holds 3 messages; the limit is 2 (INGEST_MAX_EVENTS_PER_REQUEST)'],
    ['a single call that is no object', 'x', 'page', 'SB_BODY_UNREADABLE', 'the body must be one page message, a JSON object'],
  ])('refuses the whole request for %s', (_, body, route, code, message) => {
    const refuse = () => readSegmentBody(body, route, RECEIVED, 2);
    expect(refuse).toThrow(SignalboardError);
    expect(refuse).toThrow(expect.objectContaining({ code, message }));
  });

  it.each<[string, SegmentType | undefined, string]>([
    ['eventId: must be printable ASCII without spaces', 'track', 'messageId: must be printable ASCII without spaces'],
    ['properties.a.b: the key "__proto__" is not allowed', 'identify', 'traits.a.b: the key "__proto__" is not allowed'],
    ['properties.traits.$x: bad', 'group', 'traits.$x: bad'],
    ['properties.x: bad', 'track', 'properties.x: bad'],
    ['eventIdentity: unchanged, not the field eventId', 'track', 'eventIdentity: unchanged, not the field eventId'],
    ['eventId: unchanged without a type', undefined, 'eventId: unchanged without a type'],
  ])('names the Segment field in "%s" (%s)', (error, type, expected) => {
    expect(segmentError(error, type)).toBe(expected);
  });
});

describe('Segment credentials', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it.each<[string, Record<string, string>, string | undefined, string | undefined]>([
    ['the Basic user', { authorization: basic('sbw_key:') }, 'sbw_other', 'Bearer sbw_key'],
    ['the Basic user, ignoring a password', { authorization: basic('sbw_key:secret') }, undefined, 'Bearer sbw_key'],
    ['writeKey in the body without a header', {}, 'sbw_body', 'Bearer sbw_body'],
    ['a Bearer header as it is', { authorization: 'Bearer sbw_b' }, 'sbw_body', 'Bearer sbw_b'],
    ['nothing when nothing is given', {}, undefined, undefined],
  ])('reads %s', (_, headers, writeKey, expected) => {
    expect(segmentCredentials(headers, writeKey).authorization).toBe(expected);
  });

  it('refuses Basic credentials without a user', () => {
    expect(() => segmentCredentials({ authorization: basic(':pw') }, undefined)).toThrow(expect.objectContaining({ code: 'SB_AUTH_INVALID' }));
  });
});
