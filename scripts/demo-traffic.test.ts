import { describe, expect, it } from 'vitest';
import { backfill, hourWeight, returnChance } from './demo-traffic.js';

const NOW = Date.parse('2026-12-02T15:30:00.000Z');
const DAY = 86_400_000;

describe('the demo shop', () => {
  const events = backfill(300, 30, NOW);

  it('is the same on every run, so a second backfill dedupes', () => {
    expect(backfill(300, 30, NOW)).toEqual(events);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('lies in the last 30 days and never in the future, sorted by time', () => {
    const start = Math.floor(NOW / DAY) * DAY - 30 * DAY;
    expect(events.every((e) => e.timestamp >= start - 1000 && e.timestamp < NOW)).toBe(true);
    expect(events.map((e) => e.timestamp)).toEqual([...events.map((e) => e.timestamp)].sort((a, b) => a - b));
  });

  it('signs each user up before anything else they do', () => {
    const first = new Map<string, string>();
    for (const e of events) if (!first.has(e.userId)) first.set(e.userId, e.event);
    expect([...first.values()].every((name) => name === 'signup')).toBe(true);
    expect(first.size).toBeGreaterThan(280);
  });

  it('has a retention curve: fewer users come back the longer ago they signed up', () => {
    const signup = new Map(events.filter((e) => e.event === 'signup').map((e) => [e.userId, Math.floor(e.timestamp / DAY)]));
    const back = (k: number) => new Set(events.filter((e) => Math.floor(e.timestamp / DAY) - signup.get(e.userId)! === k).map((e) => e.userId)).size;
    expect(back(1)).toBeGreaterThan(back(10));
    expect(back(10)).toBeGreaterThan(0);
    expect(returnChance(1)).toBeGreaterThan(returnChance(2));
  });

  it('is busier by day than by night, and buys sometimes', () => {
    expect(hourWeight(10)).toBeCloseTo(1, 2);
    expect(hourWeight(20)).toBeCloseTo(1, 2);
    expect(hourWeight(19)).toBeGreaterThan(0.8);
    expect(hourWeight(23)).toBeCloseTo(hourWeight(17), 1);
    expect(hourWeight(3)).toBeLessThan(0.3);
    const purchases = events.filter((e) => e.event === 'purchase').length;
    expect(purchases).toBeGreaterThan(0);
    expect(purchases).toBeLessThan(events.length / 5);
  });
});
