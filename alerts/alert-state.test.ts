import { describe, expect, it } from 'vitest';
import type { AlertState } from '../model/alert-store.js';
import { initialAlertState, stepAlert, type AlertStepInput } from './alert-state.js';

const T0 = Date.parse('2026-11-23T13:00:00.000Z');
const SEC = 1000;
const MIN = 60 * SEC;

const BREACHED = { breached: true, cleared: false, value: 120 };
const CLEARED = { breached: false, cleared: true, value: 50 };
const BAND = { breached: false, cleared: false, value: 95 }; // inside the hysteresis band

type Reading = typeof BREACHED;

/** Steps `state` with `reading` at T0 + `at` ms, for a rule with the given durations. */
function step(state: AlertState, at: number, reading: Reading, forMs = 0, resolveAfterMs = MIN) {
  return stepAlert(state, { ...reading, now: T0 + at, forMs, resolveAfterMs });
}

function firing(at = 0, firings = 1): AlertState {
  return { status: 'firing', since: T0 + at, clearSince: null, firings, value: 120, evaluatedAt: T0 + at };
}

describe('stepAlert', () => {
  it('starts ok, storable as JSON', () => {
    const state = initialAlertState(T0);
    expect(state).toEqual({ status: 'ok', since: T0, clearSince: null, firings: 0, value: null, evaluatedAt: T0 });
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('stays ok while not breached, keeping the last value', () => {
    expect(step(initialAlertState(T0), 5 * SEC, BAND)).toEqual({ state: { status: 'ok', since: T0, clearSince: null, firings: 0, value: 95, evaluatedAt: T0 + 5 * SEC } });
  });

  it('fires in the same step when for is 0s', () => {
    expect(step(initialAlertState(T0), SEC, BREACHED)).toEqual({ state: firing(SEC), notify: 'firing' });
  });

  it('waits in pending for the for duration, then fires', () => {
    const pending = step(initialAlertState(T0), 0, BREACHED, 30 * SEC);
    expect(pending).toEqual({ state: { status: 'pending', since: T0, clearSince: null, firings: 0, value: 120, evaluatedAt: T0 } });
    const stillPending = step(pending.state, 29 * SEC, BREACHED, 30 * SEC);
    expect(stillPending).toEqual({ state: { ...pending.state, evaluatedAt: T0 + 29 * SEC } });
    expect(step(stillPending.state, 30 * SEC, BREACHED, 30 * SEC)).toEqual({ state: firing(30 * SEC), notify: 'firing' });
  });

  it('goes back to ok from pending when the breach ends, without a notification', () => {
    const pending = step(initialAlertState(T0), 0, BREACHED, 30 * SEC).state;
    expect(step(pending, 10 * SEC, BAND, 30 * SEC)).toEqual({ state: { status: 'ok', since: T0 + 10 * SEC, clearSince: null, firings: 0, value: 95, evaluatedAt: T0 + 10 * SEC } });
  });

  it('goes back to resolved from pending once it has fired before', () => {
    const resolved: AlertState = { status: 'resolved', since: T0, clearSince: null, firings: 2, value: 50, evaluatedAt: T0 };
    const pending = step(resolved, SEC, BREACHED, 30 * SEC);
    expect(pending.state).toMatchObject({ status: 'pending', since: T0 + SEC, firings: 2 });
    expect(step(pending.state, 2 * SEC, CLEARED, 30 * SEC)).toEqual({ state: { ...resolved, since: T0 + 2 * SEC, evaluatedAt: T0 + 2 * SEC } });
  });

  it('does not fire again while firing, however long the breach lasts', () => {
    let state = firing();
    for (let at = 10 * SEC; at <= 10 * MIN; at += 10 * SEC) {
      const result = step(state, at, BREACHED);
      expect(result.notify).toBeUndefined();
      state = result.state;
    }
    expect(state).toEqual({ ...firing(), evaluatedAt: T0 + 10 * MIN });
  });

  it('resolves once the condition has stayed cleared for resolveAfter', () => {
    const clearing = step(firing(), 10 * SEC, CLEARED);
    expect(clearing).toEqual({ state: { ...firing(), clearSince: T0 + 10 * SEC, value: 50, evaluatedAt: T0 + 10 * SEC } });
    const stillClearing = step(clearing.state, 69 * SEC, CLEARED);
    expect(stillClearing).toEqual({ state: { ...clearing.state, evaluatedAt: T0 + 69 * SEC } });
    expect(step(stillClearing.state, 70 * SEC, CLEARED)).toEqual({
      state: { status: 'resolved', since: T0 + 70 * SEC, clearSince: null, firings: 1, value: 50, evaluatedAt: T0 + 70 * SEC },
      notify: 'resolved',
    });
  });

  it('restarts the clear period when the value comes back into the hysteresis band', () => {
    let state = step(firing(), 10 * SEC, CLEARED).state;
    state = step(state, 40 * SEC, BAND).state;
    expect(state).toMatchObject({ status: 'firing', clearSince: null });
    state = step(state, 50 * SEC, CLEARED).state;
    expect(step(state, 109 * SEC, CLEARED).state).toMatchObject({ status: 'firing', clearSince: T0 + 50 * SEC });
    expect(step(state, 110 * SEC, CLEARED).notify).toBe('resolved');
  });

  it('resolves on the first cleared step when resolveAfter is 0s', () => {
    expect(step(firing(), SEC, CLEARED, 0, 0)).toMatchObject({ state: { status: 'resolved', since: T0 + SEC }, notify: 'resolved' });
  });

  it('fires again after resolving, counting the firings', () => {
    const resolved: AlertState = { status: 'resolved', since: T0, clearSince: null, firings: 1, value: 50, evaluatedAt: T0 };
    expect(step(resolved, MIN, BREACHED)).toEqual({ state: firing(MIN, 2), notify: 'firing' });
  });

  it('ignores a step older than the last one', () => {
    const state = firing(MIN);
    expect(step(state, MIN - 1, CLEARED, 0, 0)).toEqual({ state });
  });

  describe('flapping', () => {
    it('fires exactly once over 100 alternating steps one second apart (resolveAfter 1m)', () => {
      let state = initialAlertState(T0);
      const notified: string[] = [];
      for (let i = 0; i < 100; i++) {
        const result = step(state, i * SEC, i % 2 === 0 ? BREACHED : CLEARED);
        if (result.notify) notified.push(result.notify);
        state = result.state;
      }
      expect(notified).toEqual(['firing']);
      expect(state).toMatchObject({ status: 'firing', firings: 1, clearSince: T0 + 99 * SEC });
    });

    it('never fires twice within resolveAfter, for any pattern of readings', () => {
      // A fixed pseudo-random walk (LCG) of readings one second apart: deterministic, yet varied run lengths.
      let seed = 42;
      const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      const readings = [BREACHED, CLEARED, BAND];
      let state = initialAlertState(T0);
      let reading = BREACHED;
      const firings: number[] = [];
      const notified: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        if (random() < 0.05) reading = readings[Math.floor(random() * 3)]!;
        const result = step(state, i * SEC, reading, 0, MIN);
        if (result.notify) notified.push(result.notify);
        if (result.notify === 'firing') firings.push(i * SEC);
        state = result.state;
      }
      expect(firings.length).toBeGreaterThan(5); // the walk did flap
      for (let k = 1; k < firings.length; k++) expect(firings[k]! - firings[k - 1]!).toBeGreaterThanOrEqual(MIN);
      // Notifications alternate: firing, resolved, firing, ...
      expect(notified.every((n, k) => n === (k % 2 === 0 ? 'firing' : 'resolved'))).toBe(true);
      expect(state.firings).toBe(firings.length);
    });
  });

  describe('idempotence: the same step twice at the same now changes nothing the second time', () => {
    const resolved: AlertState = { status: 'resolved', since: T0, clearSince: null, firings: 1, value: 50, evaluatedAt: T0 };
    const pending: AlertState = { status: 'pending', since: T0, clearSince: null, firings: 0, value: 120, evaluatedAt: T0 };
    const clearing: AlertState = { ...firing(), clearSince: T0 };

    it.each<[string, AlertState, Omit<AlertStepInput, 'now'>, number]>([
      ['ok → firing', initialAlertState(T0), { ...BREACHED, forMs: 0, resolveAfterMs: MIN }, SEC],
      ['ok → pending', initialAlertState(T0), { ...BREACHED, forMs: MIN, resolveAfterMs: MIN }, SEC],
      ['ok stays ok', initialAlertState(T0), { ...CLEARED, forMs: 0, resolveAfterMs: MIN }, SEC],
      ['pending → firing', pending, { ...BREACHED, forMs: MIN, resolveAfterMs: MIN }, MIN],
      ['pending → ok', pending, { ...CLEARED, forMs: MIN, resolveAfterMs: MIN }, SEC],
      ['resolved → firing', resolved, { ...BREACHED, forMs: 0, resolveAfterMs: MIN }, SEC],
      ['firing starts clearing', firing(), { ...CLEARED, forMs: 0, resolveAfterMs: MIN }, SEC],
      ['firing → resolved', clearing, { ...CLEARED, forMs: 0, resolveAfterMs: MIN }, MIN],
      ['firing → resolved at once (resolveAfter 0s)', firing(), { ...CLEARED, forMs: 0, resolveAfterMs: 0 }, SEC],
      ['firing stops clearing', clearing, { ...BAND, forMs: 0, resolveAfterMs: MIN }, SEC],
    ])('%s', (_name, start, reading, at) => {
      const input = { ...reading, now: T0 + at };
      const first = stepAlert(start, input);
      const second = stepAlert(first.state, input);
      expect(second).toEqual({ state: first.state });
      expect(first.state).not.toEqual(start); // the first step did change something
    });
  });
});
