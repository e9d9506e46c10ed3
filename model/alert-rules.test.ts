import { describe, expect, it } from 'vitest';
import { ALERT_COLLECTIONS, alertRuleInput, historyMinutes, parseDuration, type AlertRuleInput } from './alert-rules.js';
import { SignalboardError } from '../core/errors.js';
import { parseParams } from '../core/params.js';

const DIMENSIONS = ['platform', 'country', 'appVersion'];
const schema = alertRuleInput(DIMENSIONS);

const countRule = { name: 'Signups up', metric: { type: 'count', event: 'signup' }, condition: { kind: 'threshold', op: '>', value: 100, window: '5m' } };

/** The 400 message the api would send, as parseParams builds it. */
function problem(body: unknown, dimensions: readonly string[] = DIMENSIONS): string {
  try {
    parseParams(alertRuleInput(dimensions), body);
  } catch (err) {
    expect(err).toBeInstanceOf(SignalboardError);
    return (err as SignalboardError).message;
  }
  throw new Error('the body was accepted');
}

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['30s', 30_000],
    ['90s', 90_000],
    ['1m', 60_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['24h', 86_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '1d', '1.5m', '-1m', ' 5m', '5m ', '5M', '1h30m'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });
});

describe('alertRuleInput: accepted bodies', () => {
  it('fills the defaults and carries the durations in ms beside their text', () => {
    expect(schema.parse(countRule)).toEqual({
      name: 'Signups up',
      enabled: true,
      metric: { type: 'count', event: 'signup' },
      condition: { kind: 'threshold', op: '>', value: 100, window: '5m', windowMs: 300_000, hysteresis: 0 },
      for: '0s',
      forMs: 0,
      resolveAfter: '1m',
      resolveAfterMs: 60_000,
    });
  });

  it('keeps filters, webhook and explicit durations', () => {
    const rule = schema.parse({
      ...countRule,
      enabled: false,
      metric: { type: 'count', event: 'purchase', where: { platform: 'ios' } },
      for: '90s',
      resolveAfter: '0s',
      webhook: { url: 'https://hooks.example.com/a?b=c' },
    });
    expect(rule).toMatchObject({ enabled: false, metric: { where: { platform: 'ios' } }, forMs: 90_000, resolveAfterMs: 0, webhook: { url: 'https://hooks.example.com/a?b=c' } });
  });

  it('gives an anomaly its defaults', () => {
    const rule = schema.parse({ ...countRule, condition: { kind: 'anomaly', window: '5m' } });
    expect(rule.condition).toEqual({ kind: 'anomaly', window: '5m', windowMs: 300_000, baselineWindows: 12, zScore: 3, minVolume: 10, direction: 'both' });
  });

  it('gives activeUsersNow no window at all', () => {
    const rule = schema.parse({ name: 'Quiet', metric: { type: 'activeUsersNow' }, condition: { kind: 'threshold', op: '<', value: 5, hysteresis: 2 } });
    expect(rule.condition).toEqual({ kind: 'threshold', op: '<', value: 5, hysteresis: 2 });
    expect(Object.keys(rule.condition)).not.toContain('windowMs');
  });

  it('accepts exactly 24h of anomaly history (1h × (23 + 1))', () => {
    const rule = schema.parse({ ...countRule, condition: { kind: 'anomaly', window: '1h', baselineWindows: 23 } });
    expect(historyMinutes(rule)).toBe(1440);
  });

  it('parses a stored rule back to the same input (GET, then PUT what it returned)', () => {
    const input = schema.parse({ ...countRule, metric: { type: 'count', event: 'signup', where: { platform: 'web' } } });
    const stored = { ...input, _id: 'r1', projectId: 'p1', createdAt: new Date(0), updatedAt: new Date(0) };
    expect(schema.parse(JSON.parse(JSON.stringify(stored)))).toEqual(input);
  });
});

describe('alertRuleInput: errors name the field and say what is wrong', () => {
  const anomaly = (condition: object) => ({ ...countRule, condition: { kind: 'anomaly', window: '5m', ...condition } });
  const threshold = (condition: object) => ({ ...countRule, condition: { ...countRule.condition, ...condition } });
  const where = (filters: object) => ({ ...countRule, metric: { type: 'count', event: 'signup', where: filters } });

  it.each([
    ['a where key that is not a dimension', where({ os: 'x' }), 'metric.where.os: "os" is not a dimension; allowed: platform, country, appVersion'],
    ['a __proto__ where key', JSON.parse('{"name":"n","metric":{"type":"count","event":"e","where":{"__proto__":"x"}},"condition":{"kind":"threshold","op":">","value":1,"window":"1m"}}'), 'metric.where.__proto__: "__proto__" is not a dimension'],
    ['an empty where value', where({ platform: '' }), 'metric.where.platform: must not be empty'],
    ['a where value over 100 characters', where({ platform: 'x'.repeat(101) }), 'metric.where.platform: Too big'],
    ['where as an array', where(['platform']), 'metric.where: Invalid input: expected record, received array'],
    ['an empty event', { ...countRule, metric: { type: 'count', event: '' } }, 'metric.event: must not be empty'],
    ['an unknown metric type', { ...countRule, metric: { type: 'sum', event: 'e' } }, 'metric.type: Invalid discriminator value'],
    ['anomaly on activeUsersNow', { name: 'n', metric: { type: 'activeUsersNow' }, condition: { kind: 'anomaly', window: '5m' } }, 'condition.kind: anomaly needs a count metric; activeUsersNow supports only threshold'],
    ['a window on activeUsersNow', { name: 'n', metric: { type: 'activeUsersNow' }, condition: { kind: 'threshold', op: '<', value: 1, window: '5m' } }, 'condition.window: must be absent for activeUsersNow'],
    ['a count threshold without window', threshold({ window: undefined }), 'condition.window: is required for count metrics'],
    ['an anomaly without window', anomaly({ window: undefined }), 'condition.window: Invalid input: expected string, received undefined'],
    ['a window in seconds', threshold({ window: '30s' }), 'condition.window: must be from 1m to 24h, got "30s"'],
    ['a window of 90s', threshold({ window: '90s' }), 'condition.window: must be whole minutes, got "90s"'],
    ['a window of 0m', threshold({ window: '0m' }), 'condition.window: must be from 1m to 24h, got "0m"'],
    ['a window over 24h', threshold({ window: '25h' }), 'condition.window: must be from 1m to 24h, got "25h"'],
    ['a window that is not a duration', threshold({ window: '5 minutes' }), 'condition.window: must be a duration like "30s", "5m" or "1h", got "5 minutes"'],
    ['a window too large for the baseline', anomaly({ window: '2h' }), 'condition.window: window × (baselineWindows + 1) must be at most 24h, got 2h × 13'],
    ['a baseline too long for the window', anomaly({ window: '1h', baselineWindows: 24 }), 'condition.window: window × (baselineWindows + 1) must be at most 24h, got 1h × 25'],
    ['2 baseline windows', anomaly({ baselineWindows: 2 }), 'condition.baselineWindows: Too small'],
    ['169 baseline windows', anomaly({ baselineWindows: 169 }), 'condition.baselineWindows: Too big'],
    ['a fractional baseline', anomaly({ baselineWindows: 3.5 }), 'condition.baselineWindows: Invalid input: expected int'],
    ['a zScore of 0', anomaly({ zScore: 0 }), 'condition.zScore: Too small'],
    ['a zScore over 100', anomaly({ zScore: 100.5 }), 'condition.zScore: Too big'],
    ['a negative minVolume', anomaly({ minVolume: -1 }), 'condition.minVolume: Too small'],
    ['an unknown direction', anomaly({ direction: 'sideways' }), 'condition.direction: Invalid option'],
    ['a negative threshold', threshold({ value: -1 }), 'condition.value: Too small'],
    ['a threshold given as text', threshold({ value: '100' }), 'condition.value: Invalid input: expected number, received string'],
    ['a negative hysteresis', threshold({ hysteresis: -0.5 }), 'condition.hysteresis: Too small'],
    ['an unknown op', threshold({ op: '=' }), 'condition.op: Invalid option'],
    ['an unknown kind', { ...countRule, condition: { kind: 'spike', window: '5m' } }, 'condition.kind: Invalid discriminator value'],
    ['a blank name', { ...countRule, name: '   ' }, 'name: must not be empty'],
    ['a 201-character name', { ...countRule, name: 'x'.repeat(201) }, 'name: Too big'],
    ['for over 24h', { ...countRule, for: '25h' }, 'for: must be from 0s to 24h, got "25h"'],
    ['a negative resolveAfter', { ...countRule, resolveAfter: '-1m' }, 'resolveAfter: must be a duration'],
    ['an ftp webhook', { ...countRule, webhook: { url: 'ftp://example.com/x' } }, 'webhook.url: must be an http or https URL'],
    ['a webhook URL over 2000 characters', { ...countRule, webhook: { url: `https://example.com/${'x'.repeat(2000)}` } }, 'webhook.url: must be at most 2000 characters'],
    ['a non-boolean enabled', { ...countRule, enabled: 'yes' }, 'enabled: Invalid input: expected boolean, received string'],
  ])('%s', (_name, body, message) => {
    expect(problem(body)).toContain(message);
  });

  it('refuses more than one where key', () => {
    const dims = ['a', 'b', 'c', 'd', 'e', 'f'];
    const body = where({ a: '1', b: '1' });
    expect(problem(body, dims)).toBe('metric.where: may filter on one dimension (rollups count each dimension on its own, not combinations), got 2');
    expect(() => parseParams(alertRuleInput(dims), where({ a: '1' }))).not.toThrow();
  });

  it('says when no dimension is configured', () => {
    expect(problem(where({ platform: 'ios' }), [])).toBe('metric.where.platform: "platform" is not a dimension; allowed: none (AGGREGATOR_DIMENSIONS is empty)');
  });
});

describe('historyMinutes', () => {
  const parse = (body: object): AlertRuleInput => schema.parse({ ...countRule, ...body });

  it.each([
    ['a 5m threshold', parse({}), 5],
    ['a 1h threshold', parse({ condition: { kind: 'threshold', op: '<', value: 1, window: '1h' } }), 60],
    ['a 5m anomaly over 12 windows', parse({ condition: { kind: 'anomaly', window: '5m' } }), 65],
    ['a 15m anomaly over 3 windows', parse({ condition: { kind: 'anomaly', window: '15m', baselineWindows: 3 } }), 60],
    ['activeUsersNow', parse({ metric: { type: 'activeUsersNow' }, condition: { kind: 'threshold', op: '>', value: 1 } }), 0],
  ])('%s', (_name, rule, minutes) => {
    expect(historyMinutes(rule)).toBe(minutes);
  });
});

it('names the alert collections', () => {
  expect(ALERT_COLLECTIONS).toEqual({ rules: 'alert_rules', states: 'alert_states', firings: 'alert_firings', deliveries: 'alert_deliveries' });
});
