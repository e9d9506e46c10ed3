import { describe, expect, it } from 'vitest';
// @ts-expect-error: a k6 script, plain JavaScript without types
import * as bodies from './event-bodies.js';

const acknowledged = (bodies as { newlyAcknowledged: unknown }).newlyAcknowledged as (accepted: number, retried: boolean, before: number) => number;

describe('events acknowledged for the first time (the zero-loss count)', () => {
  it.each([
    ['a first send', 50, false, 0, 50],
    ['a first send right after another body', 50, false, 50, 50],
    ['a retry of a body already acknowledged whole', 50, true, 50, 0],
    ['a retry of a body refused before (503)', 50, true, 0, 50],
    ['a retry of a body partly acknowledged before', 50, true, 30, 20],
    ['a retry acknowledged less than before', 10, true, 50, 0],
  ])('%s', (_, accepted, retried, before, expected) => {
    expect(acknowledged(accepted, retried, before)).toBe(expected);
  });
});

describe('late resends scattered in a body', () => {
  const { eventBodies, withLateEvents } = bodies as {
    eventBodies: (batch: number, names: string[], clientIds: boolean) => string[];
    withLateEvents: (body: string, id: string, earlier: string[], late: number, batch: number) => { body: string; resent: number };
  };
  const fresh = eventBodies(5, ['a'], true)[0]!.split('@ID@').join('now');
  const ids = (body: string) => (JSON.parse(body) as Array<{ eventId: string }>).map((e) => e.eventId);

  it('replaces each event id by the one it had in an earlier request, as often as asked', () => {
    expect(withLateEvents(fresh, 'now', ['old'], 1, 5)).toEqual({ body: fresh.split('"now-').join('"old-'), resent: 5 });
    expect(ids(withLateEvents(fresh, 'now', ['old'], 1, 5).body)).toEqual(['old-0', 'old-1', 'old-2', 'old-3', 'old-4']);
    expect(withLateEvents(fresh, 'now', ['old'], 0, 5)).toEqual({ body: fresh, resent: 0 });
    expect(withLateEvents(fresh, 'now', [], 1, 5)).toEqual({ body: fresh, resent: 0 });
  });
});
