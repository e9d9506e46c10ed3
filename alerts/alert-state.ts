import type { AlertState } from '../model/alert-store.js';

/**
 * The alert state machine, pure: the alerts role loads an AlertState, steps it with
 * each evaluation and stores it back (ALERT_COLLECTIONS.states). Deterministic and
 * idempotent: the same step twice at the same `now` changes nothing the second time.
 */

/** An evaluation (see rule-math's evaluateCondition) and the rule's durations. */
export interface AlertStepInput {
  breached: boolean;
  cleared: boolean;
  value: number;
  now: number;
  forMs: number;
  resolveAfterMs: number;
}

export interface AlertStepResult {
  state: AlertState;
  /** Set on the one step that fires or resolves the alert. */
  notify?: 'firing' | 'resolved';
}

export function initialAlertState(now: number): AlertState {
  return { status: 'ok', since: now, clearSince: null, firings: 0, value: null, evaluatedAt: now };
}

/** Fires once the breach has lasted `forMs`; a pending state waits until then. */
function fireWhenHeld(pending: AlertState, input: AlertStepInput): AlertStepResult {
  if (input.now - pending.since < input.forMs) return { state: pending };
  return { state: { ...pending, status: 'firing', since: input.now, clearSince: null, firings: pending.firings + 1 }, notify: 'firing' };
}

export function stepAlert(state: AlertState, input: AlertStepInput): AlertStepResult {
  const { now } = input;
  // A late step (another evaluator, a clock step back) must not undo a newer one.
  if (now < state.evaluatedAt) return { state };
  const next: AlertState = { ...state, value: input.value, evaluatedAt: now };
  switch (state.status) {
    case 'ok':
    case 'resolved':
      if (!input.breached) return { state: next };
      return fireWhenHeld({ ...next, status: 'pending', since: now }, input);
    case 'pending':
      // Back to the calm status it left: an alert that has fired before rests as resolved.
      if (!input.breached) return { state: { ...next, status: state.firings > 0 ? 'resolved' : 'ok', since: now } };
      return fireWhenHeld(next, input);
    case 'firing': {
      // Any step not cleared restarts the clear period and never fires again while firing:
      // so a flapping metric fires at most once per resolveAfter.
      if (!input.cleared) return { state: { ...next, clearSince: null } };
      const clearSince = state.clearSince ?? now;
      if (now - clearSince < input.resolveAfterMs) return { state: { ...next, clearSince } };
      return { state: { ...next, status: 'resolved', since: now, clearSince: null }, notify: 'resolved' };
    }
  }
}
