import { describe, expect, it } from 'vitest';
import { describeRule, thresholdRule, type ThresholdFormValues } from './alert-rule-form.js';

const form: ThresholdFormValues = { name: ' signups ', metric: 'count', event: ' signup ', op: '>', value: '0', window: '1m', adminKey: ' sba_x ' };

describe('the threshold rule form', () => {
  it('builds the POST /v1/alerts body of a count rule', () => {
    expect(thresholdRule(form)).toEqual({ ok: true, adminKey: 'sba_x', rule: { name: 'signups', metric: { type: 'count', event: 'signup' }, condition: { kind: 'threshold', op: '>', value: 0, window: '1m' } } });
  });

  it('builds an active-users rule, without event or window', () => {
    expect(thresholdRule({ ...form, metric: 'activeUsersNow', op: '<', value: '2.5', event: '', window: '' })).toEqual({
      ok: true, adminKey: 'sba_x', rule: { name: 'signups', metric: { type: 'activeUsersNow' }, condition: { kind: 'threshold', op: '<', value: 2.5 } },
    });
  });

  it.each([
    ['no name', { name: '  ' }, 'name'],
    ['no admin key', { adminKey: '' }, 'adminKey'],
    ['an unknown comparison', { op: '=' }, 'op'],
    ['an empty threshold', { value: '' }, 'value'],
    ['a threshold that is not a number', { value: 'ten' }, 'value'],
    ['a count without an event', { event: ' ' }, 'event'],
    ['a window the form does not offer', { window: '7m' }, 'window'],
  ] as const)('points at the field to fix: %s', (_case, change, field) => {
    const result = thresholdRule({ ...form, ...change });
    expect(result).toMatchObject({ ok: false, field });
    expect(result.ok === false && result.message.length).toBeGreaterThan(5);
  });

  it.each([
    [{ metric: { type: 'count', event: 'signup' }, condition: { kind: 'threshold', op: '>', value: 0, window: '1m' } }, 'count of signup > 0 over 1m'],
    [{ metric: { type: 'activeUsersNow' }, condition: { kind: 'threshold', op: '<', value: 3 } }, 'active users now < 3'],
    [{ metric: { type: 'count', event: 'buy' }, condition: { kind: 'anomaly', window: '5m' } }, 'count of buy: anomaly over 5m'],
  ])('describes a rule in one line', (rule, text) => {
    expect(describeRule(rule)).toBe(text);
  });
});
