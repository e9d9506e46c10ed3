import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it.each([
    ['the lowest draw: half of each ceiling', 0, [500, 1000, 2000, 4000, 8000, 15_000, 15_000]],
    ['the highest draw: just under each ceiling', 0.999_999, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]],
  ])('doubles up to the maximum, %s', (_case, draw, expected) => {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, random: () => draw });
    expect(expected.map(() => backoff.next())).toEqual(expected);
  });

  it('spreads dashboards dropped together over the interval (jitter), never at zero', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const delays = Array.from({ length: 200 }, () => new Backoff({ baseMs: 1000, maxMs: 30_000, random }).next());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('starts small again after a reset, and counts its attempts', () => {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, random: () => 0 });
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(2);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(500);
  });

  it('stays finite after very many attempts', () => {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, random: () => 0.5 });
    for (let i = 0; i < 5000; i++) backoff.next();
    expect(backoff.next()).toBe(22_500);
  });
});
