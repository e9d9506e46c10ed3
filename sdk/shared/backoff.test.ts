import { describe, expect, it } from 'vitest';
import { backoffDelay, RETRY_BASE_MS, RETRY_MAX_MS } from './backoff.js';

describe('backoffDelay (full jitter)', () => {
  it.each([
    // retry, random, expected ms: the bound doubles from 1 s and stops at 30 s
    [0, 0.999999, 999],
    [1, 0.999999, 1999],
    [2, 0.999999, 3999],
    [3, 0.999999, 7999],
    [4, 0.999999, 15_999],
    [5, 0.999999, 29_999],
    [12, 0.999999, 29_999],
    [3, 0.5, 4000],
    [3, 0.25, 2000],
    [0, 0, 0],
    [20, 0, 0],
  ])('retry %i with random %f waits %i ms', (retry, random, expected) => {
    expect(backoffDelay(retry, random)).toBe(expected);
  });

  it('stays in [0, min(max, base * 2^retry)) for any random draw', () => {
    for (let retry = 0; retry < 10; retry++) {
      const bound = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** retry);
      const draws = Array.from({ length: 200 }, () => backoffDelay(retry, Math.random()));
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...draws)).toBeLessThan(bound);
      // Jitter spreads the waits: not all clients retry at the same moment.
      expect(new Set(draws).size).toBeGreaterThan(retry === 0 ? 100 : 150);
    }
  });

  it('takes another base and cap', () => {
    expect(backoffDelay(3, 0.5, 100, 500)).toBe(250);
    expect(backoffDelay(2, 0.5, 100, 500)).toBe(200);
  });
});
