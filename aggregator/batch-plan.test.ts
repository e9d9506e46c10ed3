import { describe, expect, it } from 'vitest';
import type { UserDoc } from '../model/collections.js';
import type { StampedEvent } from '../model/event-stream.js';
import { countDoc } from './analytics-store.js';
import { LAST_SEEN_RESOLUTION_MS, planBatch, type PlanSettings } from './batch-plan.js';

const DAY = 86_400_000;
const SETTINGS: PlanSettings = { dimensions: ['platform'], horizonDays: 90, expiryDays: { raw: 365, users: 365, minute: 14, hour: 365, day: 365 } };
const TODAY = 20_400;
const NOON = TODAY * DAY + 12 * 3_600_000;

function event(timestamp: number, userId = 'u1'): StampedEvent {
  return { projectId: 'p', eventId: `e-${timestamp}-${userId}`, event: 'click', userId, timestamp, receivedAt: timestamp, context: { platform: 'web' } };
}

/** The user document as the batch `seq - 1` left it: active today, seen at `lastSeen`. */
function stored(lastSeen: number, firstSeen = NOON): Map<string, UserDoc> {
  return new Map([['p|u1', { _id: 'p|u1', projectId: 'p', distinctId: 'u1', userId: 'u1', firstSeen: new Date(firstSeen), lastSeen: new Date(lastSeen), days: { [TODAY]: 1 }, wm: { p0: 1 }, expireAt: new Date(lastSeen + 365 * DAY) }]]);
}

describe('planBatch: user documents', () => {
  it('writes a new user with its day, first and last seen', () => {
    const plan = planBatch([event(NOON), event(NOON + 60_000)], new Map(), 1, SETTINGS, NOON);
    expect(plan.users).toMatchObject([{ id: 'p|u1', seq: 1, newDays: [TODAY], firstSeen: new Date(NOON), lastSeen: new Date(NOON + 60_000) }]);
    expect(plan.activity).toMatchObject([{ day: new Date(TODAY * DAY), dau: 1 }, ...Array.from({ length: 29 }, () => ({}))]);
  });

  it('skips the write for a returning user within the hour, and still counts the events', () => {
    const plan = planBatch([event(NOON + 10 * 60_000)], stored(NOON), 2, SETTINGS, NOON);
    expect(plan.users).toEqual([]);
    expect(plan.activity).toEqual([]);
    expect(plan.counts.minute.map((c) => c.count)).toEqual([1]);
  });

  it('writes when lastSeen moves by the resolution, a new day arrives, or the first event moves earlier', () => {
    expect(planBatch([event(NOON + LAST_SEEN_RESOLUTION_MS)], stored(NOON), 2, SETTINGS, NOON).users).toMatchObject([{ newDays: [], lastSeen: new Date(NOON + LAST_SEEN_RESOLUTION_MS) }]);
    expect(planBatch([event(NOON + DAY)], stored(NOON), 2, SETTINGS, NOON).users).toMatchObject([{ newDays: [TODAY + 1] }]);
    expect(planBatch([event(NOON - 60_000)], stored(NOON), 2, SETTINGS, NOON).users).toMatchObject([{ newDays: [], firstSeen: new Date(NOON - 60_000) }]);
  });

  it('plans the same user write on a replay that finds its own day already recorded', () => {
    const replayed = new Map([['p|u1', { ...stored(NOON).get('p|u1')!, days: { [TODAY]: 2 } }]]);
    const plan = planBatch([event(NOON)], replayed, 2, SETTINGS, NOON);
    expect(plan.users).toMatchObject([{ newDays: [TODAY] }]);
    expect(plan.activity[0]).toMatchObject({ dau: 1 });
  });
});

describe('planBatch: breakdowns', () => {
  it('counts every dimension value, "__proto__" and operator-like ones included, as its own field', () => {
    const at = (platform: string, n: number) => ({ ...event(NOON + n), eventId: `b-${n}`, context: { platform } });
    const plan = planBatch([at('__proto__', 1), at('$where.x', 2), at('web', 3)], new Map(), 1, SETTINGS, NOON);
    const doc = countDoc(plan.counts.minute[0]!);
    expect(doc.count).toBe(3);
    const platforms = doc.by.platform as Record<string, number>;
    expect(Object.getPrototypeOf(platforms)).toBe(Object.prototype);
    expect(Object.entries(platforms).sort()).toEqual([['web', 1], ['\uFF04where\uFF0Ex', 1], ['\uFF3F\uFF3Fproto\uFF3F\uFF3F', 1]].sort());
  });
});
