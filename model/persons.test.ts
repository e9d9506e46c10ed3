import { describe, expect, it } from 'vitest';
import { linksOf, Persons, ALIAS_EVENT } from './persons.js';

const event = (over: Record<string, unknown>) => ({ event: 'view', timestamp: 1000, eventId: 'e', ...over }) as Parameters<typeof linksOf>[0];

describe('persons', () => {
  it('link an anonymous id seen with a userId, and the previousId of an alias', () => {
    expect(linksOf(event({ userId: 'u1', anonymousId: 'a1' }))).toEqual([{ anonymousId: 'a1', userId: 'u1', timestamp: 1000, eventId: 'e' }]);
    expect(linksOf(event({ event: ALIAS_EVENT, userId: 'u1', properties: { previousId: 'a9' } }))).toEqual([{ anonymousId: 'a9', userId: 'u1', timestamp: 1000, eventId: 'e' }]);
    expect(linksOf(event({ anonymousId: 'a1' }))).toEqual([]);
    expect(linksOf(event({ userId: 'u1' }))).toEqual([]);
    expect(linksOf(event({ userId: 'u1', anonymousId: 'u1' }))).toEqual([]);
    expect(linksOf(event({ userId: 'u1', properties: { previousId: 'a9' } }))).toEqual([]);
  });

  it('count an anonymous id as its person before and after the link, and an unlinked one as a person of its own', () => {
    const persons = new Persons();
    const before = event({ anonymousId: 'a1', timestamp: 10 });
    persons.addEvent(event({ userId: 'u1', anonymousId: 'a1', timestamp: 20 }));
    expect([persons.personOf(before), persons.personOf({ anonymousId: 'a2' }), persons.personOf({ userId: 'u2', anonymousId: 'a1' })]).toEqual(['u1', 'a2', 'u2']);
  });

  it('give an anonymous id linked to two persons to the earliest link, whatever order the links arrive in', () => {
    const links = [
      event({ userId: 'late', anonymousId: 'a1', timestamp: 300, eventId: 'x' }),
      event({ userId: 'tie-b', anonymousId: 'a1', timestamp: 100, eventId: 'b' }),
      event({ userId: 'tie-a', anonymousId: 'a1', timestamp: 100, eventId: 'a' }),
    ];
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const persons = new Persons();
      for (const i of order) persons.addEvent(links[i]!);
      expect(persons.personOf({ anonymousId: 'a1' })).toBe('tie-a');
    }
  });
});
