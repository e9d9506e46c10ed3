import { describe, expect, it } from 'vitest';
import { buildEvent, callerFieldsProblem, eventProblem, type EventInput, type EventSource } from './event.js';
import { SDK_VERSION } from './version.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
/** A source with a fixed clock and numbered uuids. */
function source(library: EventSource['library'] = 'signalboard-node'): EventSource {
  let n = 0;
  return { library, now: () => NOW, uuid: () => `uuid-${++n}` };
}

describe('eventProblem', () => {
  it.each<[string, EventInput]>([
    ['an anonymousId', { event: 'signup', anonymousId: 'a1' }],
    ['a userId', { event: 'signup', userId: 'u1' }],
    ['both ids and properties', { event: 'signup', userId: 'u1', anonymousId: 'a1', properties: { plan: 'pro' } }],
    ['255-character ids', { event: 'e', userId: 'u'.repeat(255), anonymousId: 'a'.repeat(255) }],
    ['empty properties', { event: 'e', userId: 'u1', properties: {} }],
  ])('takes an event with %s', (_, input) => {
    expect(eventProblem(input)).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['no name', { anonymousId: 'a1' }, 'event must be a non-empty string (the event name)'],
    ['an empty name', { event: '', anonymousId: 'a1' }, 'event must be a non-empty string (the event name)'],
    ['a name not a string', { event: 7, anonymousId: 'a1' }, 'event must be a non-empty string (the event name)'],
    ['no id', { event: 'signup' }, 'signup: one of userId and anonymousId is required'],
    ['an empty userId', { event: 'e', userId: '' }, 'userId must be a string of 1 to 255 characters'],
    ['a 256-character userId', { event: 'e', userId: 'u'.repeat(256) }, 'userId must be a string of 1 to 255 characters'],
    ['a userId not a string', { event: 'e', userId: 42 }, 'userId must be a string of 1 to 255 characters'],
    ['a 256-character anonymousId', { event: 'e', userId: 'u1', anonymousId: 'a'.repeat(256) }, 'anonymousId must be a string of 1 to 255 characters'],
    ['string properties', { event: 'e', userId: 'u1', properties: 'plan=pro' }, 'properties must be an object'],
    ['array properties', { event: 'e', userId: 'u1', properties: ['pro'] }, 'properties must be an object'],
    ['null properties', { event: 'e', userId: 'u1', properties: null }, 'properties must be an object'],
  ])('names the problem of an event with %s', (_, input, problem) => {
    expect(eventProblem(input as EventInput)).toBe(problem);
  });
});

describe('callerFieldsProblem', () => {
  it.each<[string, Partial<EventInput>]>([
    ['none of them', {}],
    ['a context', { context: { ip: '203.0.113.9' } }],
    ['a 128-character printable eventId', { eventId: `${'a'.repeat(100)}!~-_:.${'b'.repeat(22)}` }],
    ['a Date', { timestamp: new Date(NOW) }],
    ['an ISO-8601 string', { timestamp: '2026-03-01T12:00:00+02:00' }],
    ['epoch milliseconds', { timestamp: NOW }],
  ])('takes %s', (_, fields) => {
    expect(callerFieldsProblem({ event: 'e', userId: 'u1', ...fields })).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['a context not an object', { context: 'web' }, 'context must be an object'],
    ['an array context', { context: [] }, 'context must be an object'],
    ['an empty eventId', { eventId: '' }, 'eventId must be 1 to 128 printable ASCII characters without spaces'],
    ['a 129-character eventId', { eventId: 'a'.repeat(129) }, 'eventId must be 1 to 128 printable ASCII characters without spaces'],
    ['an eventId with a space', { eventId: 'order 17' }, 'eventId must be 1 to 128 printable ASCII characters without spaces'],
    ['a non-ASCII eventId', { eventId: 'commande-é' }, 'eventId must be 1 to 128 printable ASCII characters without spaces'],
    ['a number as eventId', { eventId: 17 }, 'eventId must be 1 to 128 printable ASCII characters without spaces'],
    ['an unreadable timestamp string', { timestamp: 'yesterday' }, 'timestamp must be a Date, an ISO-8601 string or epoch milliseconds'],
    ['an invalid Date', { timestamp: new Date(NaN) }, 'timestamp must be a Date, an ISO-8601 string or epoch milliseconds'],
    ['a NaN timestamp', { timestamp: NaN }, 'timestamp must be a Date, an ISO-8601 string or epoch milliseconds'],
    ['a boolean timestamp', { timestamp: true }, 'timestamp must be a Date, an ISO-8601 string or epoch milliseconds'],
  ])('names the problem of %s', (_, fields, problem) => {
    expect(callerFieldsProblem({ event: 'e', userId: 'u1', ...(fields as Partial<EventInput>) })).toBe(problem);
  });
});

describe('buildEvent', () => {
  it('adds a new eventId, the current time and the library', () => {
    expect(buildEvent({ event: 'signup', anonymousId: 'a1' }, source('signalboard-browser'))).toEqual({
      event: 'signup',
      eventId: 'uuid-1',
      timestamp: '2026-03-01T12:00:00.000Z',
      anonymousId: 'a1',
      context: { library: { name: 'signalboard-browser', version: SDK_VERSION } },
    });
  });

  it('gives each event its own eventId', () => {
    const from = source();
    const ids = [1, 2, 3].map(() => buildEvent({ event: 'e', userId: 'u1' }, from).eventId);
    expect(ids).toEqual(['uuid-1', 'uuid-2', 'uuid-3']);
  });

  it('keeps the eventId given', () => {
    expect(buildEvent({ event: 'e', userId: 'u1', eventId: 'order-17' }, source()).eventId).toBe('order-17');
  });

  it.each<[string, Date | string | number, string]>([
    ['a Date', new Date('2026-02-28T08:30:00.250Z'), '2026-02-28T08:30:00.250Z'],
    ['an ISO-8601 string with an offset', '2026-02-28T10:30:00+02:00', '2026-02-28T08:30:00.000Z'],
    ['epoch milliseconds', Date.parse('2026-02-28T08:30:00.250Z'), '2026-02-28T08:30:00.250Z'],
  ])('takes the timestamp from %s, as an ISO-8601 UTC string', (_, timestamp, expected) => {
    expect(buildEvent({ event: 'e', userId: 'u1', timestamp }, source()).timestamp).toBe(expected);
  });

  it('copies the properties, so later changes by the caller are not sent', () => {
    const properties: Record<string, unknown> = { plan: 'pro' };
    const event = buildEvent({ event: 'e', userId: 'u1', properties }, source());
    properties.plan = 'free';
    properties.seats = 3;
    expect(event.properties).toEqual({ plan: 'pro' });
    expect(event.properties).not.toBe(properties);
  });

  it('keeps the caller context beside the library, which it does not let the caller replace', () => {
    const context = { ip: '203.0.113.9', library: { name: 'spoofed', version: '9' } };
    const event = buildEvent({ event: 'e', userId: 'u1', context }, source());
    expect(event.context).toEqual({ ip: '203.0.113.9', library: { name: 'signalboard-node', version: SDK_VERSION } });
    expect(context.library).toEqual({ name: 'spoofed', version: '9' });
  });

  it('leaves out the ids and properties not given', () => {
    expect(Object.keys(buildEvent({ event: 'e', userId: 'u1', anonymousId: undefined, properties: undefined }, source())).sort()).toEqual([
      'context',
      'event',
      'eventId',
      'timestamp',
      'userId',
    ]);
  });
});
