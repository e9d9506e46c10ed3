import { describe, expect, it } from 'vitest';
import type { AnomalyCondition, ThresholdCondition } from '../model/alert-rules.js';
import { anomalyScore, evaluateCondition, windowSum, type MinuteSeries } from './rule-math.js';

const MINUTE = 60_000;
const NOW = Date.parse('2026-11-23T13:47:12.345Z');
const CURRENT = Date.parse('2026-11-23T13:47:00.000Z');

/** [minutes before the current minute, count] → a minute series. */
function series(...points: [number, number][]): MinuteSeries {
  return new Map(points.map(([ago, count]) => [CURRENT - ago * MINUTE, count]));
}

/** `count` in every minute from `fromAgo` down to `toAgo` minutes ago. */
function flat(count: number, fromAgo: number, toAgo = 0): [number, number][] {
  const points: [number, number][] = [];
  for (let ago = fromAgo; ago >= toAgo; ago--) points.push([ago, count]);
  return points;
}

describe('windowSum', () => {
  it.each([
    [0, 1], // the current, partial minute is in
    [4, 1],
    [5, 0], // the minute that began exactly 5m before the current one is out
    [6, 0],
    [-1, 0], // a bucket after the current minute (clock skew) is out
  ])('a 5m window counts the bucket %d minutes ago %d times', (ago, times) => {
    expect(windowSum(series([ago, 7]), NOW, 5 * MINUTE)).toBe(7 * times);
  });

  it('sums the current minute and the 4 before it', () => {
    expect(windowSum(series([0, 1], [1, 2], [2, 4], [3, 8], [4, 16], [5, 32]), NOW, 5 * MINUTE)).toBe(31);
  });

  it('reads the same window at any instant within the minute', () => {
    const s = series([0, 1], [4, 2], [5, 4]);
    expect(windowSum(s, CURRENT, 5 * MINUTE)).toBe(3);
    expect(windowSum(s, CURRENT + MINUTE - 1, 5 * MINUTE)).toBe(3);
    expect(windowSum(s, CURRENT + MINUTE, 5 * MINUTE)).toBe(1); // the next minute: 4 ago is now 5 ago
  });

  it('is the current minute alone for a 1m window', () => {
    expect(windowSum(series([0, 3], [1, 5]), NOW, MINUTE)).toBe(3);
  });

  it('is 0 on an empty series', () => {
    expect(windowSum(new Map(), NOW, 60 * MINUTE)).toBe(0);
  });
});

describe('anomalyScore', () => {
  it('floors the stddev at 1 on a perfectly flat baseline', () => {
    // 10 per minute for an hour, then 16 per minute in the current 5m window: 80 against 50.
    const s = series(...flat(10, 59, 5), ...flat(16, 4));
    expect(anomalyScore(s, NOW, 5 * MINUTE, 11)).toEqual({ current: 80, mean: 50, stddev: 0, z: 30 });
  });

  it('uses the population stddev of the baseline windows', () => {
    // Windows 1, 2, 3 (minutes 5-9, 10-14, 15-19 ago) sum to 40, 50, 60: mean 50, stddev sqrt(200/3).
    const s = series([0, 70], [7, 40], [10, 50], [19, 60]);
    const score = anomalyScore(s, NOW, 5 * MINUTE, 3);
    expect(score).toMatchObject({ current: 70, mean: 50 });
    expect(score.stddev).toBeCloseTo(8.16497, 4);
    expect(score.z).toBeCloseTo(2.44949, 4);
  });

  it('reads exactly baselineWindows windows before the current one', () => {
    const inside = anomalyScore(series([14, 30]), NOW, 5 * MINUTE, 2); // window 2 is minutes 10-14 ago
    const outside = anomalyScore(series([15, 30]), NOW, 5 * MINUTE, 2);
    expect(inside.mean).toBe(15);
    expect(outside).toEqual({ current: 0, mean: 0, stddev: 0, z: 0 });
  });

  it('scores an empty series 0', () => {
    expect(anomalyScore(new Map(), NOW, 5 * MINUTE, 12)).toEqual({ current: 0, mean: 0, stddev: 0, z: 0 });
  });
});

describe('evaluateCondition: threshold', () => {
  const gaugeRule = (op: ThresholdCondition['op'], value: number, hysteresis: number) => ({ condition: { kind: 'threshold', op, value, hysteresis } as ThresholdCondition });

  it.each([
    ['>', 100, 0, 101, true, false],
    ['>', 100, 0, 100, false, true],
    ['>', 100, 10, 101, true, false],
    ['>', 100, 10, 95, false, false], // inside the hysteresis band: neither
    ['>', 100, 10, 90, false, true],
    ['>=', 100, 0, 100, true, false],
    ['>=', 100, 0, 99, false, true],
    ['>=', 100, 10, 90, false, false],
    ['>=', 100, 10, 89, false, true],
    ['<', 10, 0, 9, true, false],
    ['<', 10, 0, 10, false, true],
    ['<', 10, 5, 12, false, false],
    ['<', 10, 5, 15, false, true],
    ['<=', 10, 0, 10, true, false],
    ['<=', 10, 0, 11, false, true],
    ['<=', 10, 5, 15, false, false],
    ['<=', 10, 5, 16, false, true],
  ] as const)('%s %d with hysteresis %d: %d is breached %s, cleared %s', (op, threshold, hysteresis, value, breached, cleared) => {
    expect(evaluateCondition(gaugeRule(op, threshold, hysteresis), { gauge: value })).toEqual({ value, breached, cleared });
  });

  it('compares the window sum of a count metric', () => {
    const rule = { condition: { kind: 'threshold', op: '>=', value: 10, hysteresis: 0, window: '5m', windowMs: 5 * MINUTE } as ThresholdCondition };
    expect(evaluateCondition(rule, { series: series([0, 4], [4, 6], [5, 100]), nowMs: NOW })).toEqual({ value: 10, breached: true, cleared: false });
    expect(evaluateCondition(rule, { series: series([0, 4], [5, 100]), nowMs: NOW })).toEqual({ value: 4, breached: false, cleared: true });
  });

  it('refuses a measurement of the wrong kind', () => {
    const windowed = { condition: { kind: 'threshold', op: '>', value: 1, hysteresis: 0, window: '1m', windowMs: MINUTE } as ThresholdCondition };
    expect(() => evaluateCondition(windowed, { gauge: 3 })).toThrow(TypeError);
    expect(() => evaluateCondition(gaugeRule('>', 1, 0), { series: new Map(), nowMs: NOW })).toThrow(TypeError);
  });
});

describe('evaluateCondition: anomaly', () => {
  const anomaly = (condition: Partial<AnomalyCondition>) => ({
    condition: { kind: 'anomaly', window: '5m', windowMs: 5 * MINUTE, baselineWindows: 4, zScore: 10, minVolume: 10, direction: 'both', ...condition } as AnomalyCondition,
  });
  // Baseline windows of 50 each (10 per minute), so z = current - 50 (stddev floored at 1).
  const withCurrent = (current: number) => ({ series: series(...flat(10, 24, 5), [0, current]), nowMs: NOW });

  it.each([
    ['both', 60, 10, true, false],
    ['both', 40, -10, true, false],
    ['up', 60, 10, true, false],
    ['up', 40, -10, false, true],
    ['down', 40, -10, true, false],
    ['down', 60, 10, false, true],
    ['both', 59, 9, false, false], // between 80% of zScore and zScore: neither
    ['both', 58, 8, false, false], // exactly 80%: not yet cleared
    ['both', 57, 7, false, true],
    ['down', 42, -8, false, false],
    ['down', 43, -7, false, true],
  ] as const)('direction %s, current %d: z %d, breached %s, cleared %s', (direction, current, z, breached, cleared) => {
    expect(evaluateCondition(anomaly({ direction }), withCurrent(current))).toEqual({ value: z, breached, cleared });
  });

  it('never breaches while the baseline mean is under minVolume', () => {
    expect(evaluateCondition(anomaly({ minVolume: 51 }), withCurrent(1000))).toEqual({ value: 950, breached: false, cleared: true });
    expect(evaluateCondition(anomaly({ minVolume: 50 }), withCurrent(1000))).toEqual({ value: 950, breached: true, cleared: false });
  });

  it('treats a spike from nothing as z = current when minVolume is 0', () => {
    const spike = { series: series([0, 5]), nowMs: NOW };
    expect(evaluateCondition(anomaly({ minVolume: 0, zScore: 3 }), spike)).toEqual({ value: 5, breached: true, cleared: false });
    expect(evaluateCondition(anomaly({ minVolume: 0, zScore: 3 }), { series: new Map(), nowMs: NOW })).toEqual({ value: 0, breached: false, cleared: true });
  });

  it('refuses a gauge', () => {
    expect(() => evaluateCondition(anomaly({}), { gauge: 3 })).toThrow(TypeError);
  });
});
