import { describe, expect, it } from 'vitest';
import { attemptOutcome } from './webhook-policy.js';

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
