import { describe, expect, it } from 'vitest';
import { formatDuration, progressLine, timeLeftMs, type RecomputeProgress } from './recompute-progress.js';

const at = (daysDone: number, daysTotal: number, events: number, step: RecomputeProgress['step'] = 'counting events'): RecomputeProgress => ({ step, daysDone, daysTotal, events, stepStartedAt: 1_000_000 });

describe('recompute progress', () => {
  it.each([
    [at(0, 30, 0), 'no day done yet', undefined],
    [at(10, 30, 5000), '10 of 30 days in 20 s: 40 s for the other 20', 40_000],
    [at(30, 30, 9000), 'all done', 0],
    [at(0, 0, 0, 'writing'), 'a step without days', undefined],
  ])('estimates the time left: %j (%s)', (progress, _, left) => {
    expect(timeLeftMs(progress, 1_000_000 + 20_000)).toBe(left);
  });

  it.each([
    [999, '1 s'],
    [45_000, '45 s'],
    [185_000, '3 min 05 s'],
    [7_800_000, '2 h 10 min'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([
    [at(0, 30, 0), '1/3 counting events [--------------------] 0/30 days, 0 events'],
    [at(10, 40, 1_234_567, 'reading users'), '2/3 reading users [#####---------------] 10/40 days, 1,234,567 events, about 1 min 00 s left in this step'],
    [at(40, 40, 2_000_000, 'reading users'), '2/3 reading users [####################] 40/40 days, 2,000,000 events, done'],
    [at(0, 0, 1500, 'writing'), '3/3 writing the figures of 1,500 events'],
  ])('draws %j', (progress, line) => {
    expect(progressLine(progress, 1_000_000 + 20_000)).toBe(line);
  });
});
