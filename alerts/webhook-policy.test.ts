import { describe, expect, it } from 'vitest';
import { attemptOutcome, retryDelayMs } from './webhook-policy.js';

describe('attemptOutcome', () => {
  it.each([
    [200, 1, 'delivered'],
    [204, 5, 'delivered'],
    [299, 5, 'delivered'],
    [undefined, 1, 'retry'],
    [undefined, 4, 'retry'],
    [undefined, 5, 'dead'],
    [408, 1, 'retry'],
    [429, 2, 'retry'],
    [500, 1, 'retry'],
    [503, 4, 'retry'],
    [503, 5, 'dead'],
    [410, 1, 'dead'],
    [404, 1, 'dead'],
    [401, 1, 'dead'],
    [400, 1, 'dead'],
    [301, 1, 'dead'],
  ] as const)('answer %s at attempt %i of 5: %s', (status, attempt, outcome) => {
    expect(attemptOutcome(status, attempt, 5)).toBe(outcome);
  });
});

describe('retryDelayMs', () => {
  it.each([
    [1, 50, 200, 50, 'first retry waits the base'],
    [2, 50, 200, 100, 'doubles'],
    [3, 50, 200, 200, 'reaches the cap exactly'],
    [4, 50, 200, 200, 'stays at the cap'],
    [2000, 50, 200, 200, 'no overflow past the cap (2^1999 is Infinity)'],
    [0, 50, 200, 50, 'attempt 0 is treated as the first'],
    [7, 1000, 60_000, 60_000, '64 s capped at 60 s'],
    [6, 1000, 60_000, 32_000, 'under the cap'],
  ])('attempt %i, base %i, max %i → %i (%s)', (attempt, base, max, expected) => {
    expect(retryDelayMs(attempt, base, max)).toBe(expected);
  });
});
