import { describe, expect, it } from 'vitest';
import type { StampedEvent } from '../model/event-stream.js';
import { event } from '../test/report-fixture.js';
import { buildDaySegment, type DaySegment } from './day-segment.js';
import { decodeDaySegment, encodeDaySegment } from './segment-codec.js';

const DAY = 86_400_000;
const day = Math.floor(Date.parse('2026-03-10T00:00:00Z') / DAY);

/** Everything a report reads of a segment, as plain values. */
function plain(s: DaySegment): object {
  return {
    day: s.day,
    size: s.size,
    time: [...s.time],
    event: [...s.event],
    names: s.names,
    actor: [...s.actor],
    actors: s.actors,
    anonymous: [...s.anonymous],
    actorFirst: [...s.actorFirst],
    columns: [...s.columns].map(([name, c]) => [name, [...c.codes], c.values]),
    byEvent: { start: [...s.byEvent.start], rows: [...s.byEvent.rows] },
    bytes: s.bytes,
  };
}

function roundTrip(events: StampedEvent[]): { built: DaySegment; decoded: DaySegment } {
  const built = buildDaySegment(day, events);
  return { built, decoded: decodeDaySegment(encodeDaySegment(built)) };
}

describe('a stored day segment', () => {
  it('reads back as built: codes, dictionaries of every value type, rows lacking keys, anonymous actors', () => {
    const events = [
      event('buy', '2026-03-10T10:00:00.250Z', { userId: 'u1' }, { plan: 'pro', price: 12.5, tags: ['a', 'b'], meta: { x: 1 } }),
      event('view', '2026-03-10T09:00:00Z', { anonymousId: 'u1' }, { plan: null, ok: true }),
      event('buy', '2026-03-10T23:59:59.999Z', { userId: 'u2', anonymousId: 'a2' }, { plan: 'free', 'odd\u0000key': 'v\uD800' }),
      { ...event('view', '2026-03-10T00:00:00Z', { userId: 'u3' }), context: { country: 'FR' } },
    ];
    const { built, decoded } = roundTrip(events);
    expect(plain(decoded)).toEqual(plain(built));
    expect(decoded.columns.get('tags')!.values).toContainEqual(['a', 'b']);
    expect(decoded.columns.get('context.country')!.codes[0]).toBe(0);
    expect(decoded.columns.get('plan')!.codes[0]).toBe(-1);
  });

  it('keeps times that are not whole milliseconds of the day, and codes past one and two bytes', () => {
    const events: StampedEvent[] = [];
    for (let i = 0; i < 70_000; i++) {
      const e = event(`e${i % 300}`, '2026-03-10T12:00:00Z', { userId: `u${i}` }, { n: i, small: i % 3 });
      events.push({ ...e, timestamp: e.timestamp + i / 7 });
    }
    const { built, decoded } = roundTrip(events);
    expect(plain(decoded)).toEqual(plain(built));
    expect(decoded.time[1]).toBeCloseTo(built.time[1]!, 12);
    expect(decoded.columns.get('n')!.values.length).toBe(70_000);
  });

  it('an empty day', () => {
    const { built, decoded } = roundTrip([]);
    expect(plain(decoded)).toEqual(plain(built));
  });

  it('refuses truncated bytes rather than misreading them', () => {
    const stored = encodeDaySegment(buildDaySegment(day, [event('buy', '2026-03-10T10:00:00Z', { userId: 'u1' })]));
    expect(() => decodeDaySegment(stored.subarray(0, stored.length - 3))).toThrow();
  });
});
