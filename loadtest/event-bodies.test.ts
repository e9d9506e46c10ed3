import { describe, expect, it } from 'vitest';
// @ts-expect-error: a k6 script, plain JavaScript without types
import { newlyAcknowledged } from './event-bodies.js';

const acknowledged = newlyAcknowledged as (accepted: number, retried: boolean, before: number) => number;

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
