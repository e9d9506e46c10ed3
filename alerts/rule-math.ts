/** Pure metric evaluation over minute buckets: no I/O, the caller loads the buckets. */
import type { AlertRuleInput, AnomalyCondition, ThresholdCondition } from '../model/alert-rules.js';
import { bucketStart, GRANULARITY_MS } from '../model/time-buckets.js';

/** UTC minute bucket start (epoch ms) → count in that minute; missing minutes count 0. */
export type MinuteSeries = ReadonlyMap<number, number>;

/** What the caller measured: minute buckets for count metrics, the gauge's value for activeUsersNow. */
export type Measurement = { series: MinuteSeries; nowMs: number } | { gauge: number };

/** `cleared` means back on the safe side past the hysteresis; a value can be neither breached nor cleared. */
export interface Evaluation {
  value: number;
  breached: boolean;
  cleared: boolean;
}

export interface AnomalyScore {
  current: number;
  mean: number;
  stddev: number;
  z: number;
}

const MINUTE_MS = GRANULARITY_MS.minute;
// An anomaly clears below 80% of its zScore, so a z hovering at the limit does not flap.
const ANOMALY_CLEAR_RATIO = 0.8;

/**
 * The sum of the minute buckets b with minuteStart(now) - windowMs < b <= minuteStart(now):
 * the current, partial minute and the windowMs/1m - 1 whole minutes before it. The
 * minute that began exactly windowMs before the current one is out.
 */
export function windowSum(series: MinuteSeries, nowMs: number, windowMs: number): number {
  const last = bucketStart(nowMs, 'minute');
  let sum = 0;
  for (let b = last; b > last - windowMs; b -= MINUTE_MS) sum += series.get(b) ?? 0;
  return sum;
}

/**
 * The current window against the `baselineWindows` windows just before it (window i
 * ends i * windowMs before the current one), with the population standard deviation.
 */
export function anomalyScore(series: MinuteSeries, nowMs: number, windowMs: number, baselineWindows: number): AnomalyScore {
  const current = windowSum(series, nowMs, windowMs);
  const baseline: number[] = [];
  for (let i = 1; i <= baselineWindows; i++) baseline.push(windowSum(series, nowMs - i * windowMs, windowMs));
  const mean = baseline.reduce((a, b) => a + b, 0) / baselineWindows;
  const stddev = Math.sqrt(baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / baselineWindows);
  // A floor of 1: on a perfectly flat baseline (stddev 0) any change would otherwise score infinite.
  return { current, mean, stddev, z: (current - mean) / Math.max(stddev, 1) };
}

function compare(op: ThresholdCondition['op'], value: number, limit: number): boolean {
  switch (op) {
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
  }
}

function evaluateThreshold(c: ThresholdCondition, value: number): Evaluation {
  // Cleared means not breached even against a limit moved `hysteresis` towards the safe side.
  const safeLimit = c.op === '>' || c.op === '>=' ? c.value - c.hysteresis : c.value + c.hysteresis;
  return { value, breached: compare(c.op, value, c.value), cleared: !compare(c.op, value, safeLimit) };
}

function evaluateAnomaly(c: AnomalyCondition, score: AnomalyScore): Evaluation {
  const z = c.direction === 'up' ? score.z : c.direction === 'down' ? -score.z : Math.abs(score.z);
  // Below minVolume the baseline is too thin for its z-score to mean anything.
  const enough = score.mean >= c.minVolume;
  return { value: score.z, breached: enough && z >= c.zScore, cleared: !enough || z < c.zScore * ANOMALY_CLEAR_RATIO };
}

function seriesOf(m: Measurement): { series: MinuteSeries; nowMs: number } {
  if ('series' in m) return m;
  throw new TypeError('a windowed condition needs a minute series, got a gauge value');
}

/**
 * Evaluates the rule's condition. Threshold: the value is the window's sum (count
 * metrics) or the gauge (activeUsersNow). Anomaly: the value is the z-score.
 * A measurement of the wrong kind for the rule is a bug in the caller and throws.
 */
export function evaluateCondition(rule: Pick<AlertRuleInput, 'condition'>, measurement: Measurement): Evaluation {
  const c = rule.condition;
  if (c.kind === 'anomaly') {
    const { series, nowMs } = seriesOf(measurement);
    return evaluateAnomaly(c, anomalyScore(series, nowMs, c.windowMs, c.baselineWindows));
  }
  if (c.windowMs !== undefined) {
    const { series, nowMs } = seriesOf(measurement);
    return evaluateThreshold(c, windowSum(series, nowMs, c.windowMs));
  }
  if ('gauge' in measurement) return evaluateThreshold(c, measurement.gauge);
  throw new TypeError('a condition without a window needs a gauge value, got a minute series');
}
