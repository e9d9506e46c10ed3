/** What the "new threshold rule" form holds, as typed. */
export interface ThresholdFormValues {
  name: string;
  metric: string;
  event: string;
  op: string;
  value: string;
  window: string;
  adminKey: string;
}

export const OPERATORS = ['>', '>=', '<', '<='] as const;
export const WINDOWS = ['1m', '5m', '15m', '1h', '24h'] as const;

export type FormResult =
  | { ok: true; rule: Record<string, unknown>; adminKey: string }
  | { ok: false; field: keyof ThresholdFormValues; message: string };

/**
 * The body of POST /v1/alerts for a threshold rule (docs/api.md#alerts), or the first
 * field the form must fix before sending. The server checks the rule fully and its
 * message is shown as it is; this only catches what would make the request pointless.
 */
export function thresholdRule(v: ThresholdFormValues): FormResult {
  const name = v.name.trim();
  if (name === '') return { ok: false, field: 'name', message: 'Give the rule a name.' };
  const adminKey = v.adminKey.trim();
  if (adminKey === '') return { ok: false, field: 'adminKey', message: "Enter the project's admin key (sba_…): rules are written with it." };
  if (!(OPERATORS as readonly string[]).includes(v.op)) return { ok: false, field: 'op', message: 'Choose a comparison.' };
  const value = v.value.trim() === '' ? NaN : Number(v.value);
  if (!Number.isFinite(value)) return { ok: false, field: 'value', message: 'The threshold must be a number.' };
  if (v.metric === 'activeUsersNow') {
    return { ok: true, adminKey, rule: { name, metric: { type: 'activeUsersNow' }, condition: { kind: 'threshold', op: v.op, value } } };
  }
  const event = v.event.trim();
  if (event === '') return { ok: false, field: 'event', message: 'Name the event to count.' };
  if (!(WINDOWS as readonly string[]).includes(v.window)) return { ok: false, field: 'window', message: 'Choose a window.' };
  return { ok: true, adminKey, rule: { name, metric: { type: 'count', event }, condition: { kind: 'threshold', op: v.op, value, window: v.window } } };
}

/** One line for a rule: "count of signup > 0 over 5m", "active users now < 3". */
export function describeRule(rule: { metric: { type: string; event?: string }; condition: { kind: string; op?: string; value?: number; window?: string } }): string {
  const metric = rule.metric.type === 'activeUsersNow' ? 'active users now' : `count of ${rule.metric.event ?? '?'}`;
  const c = rule.condition;
  const over = c.window === undefined ? '' : ` over ${c.window}`;
  if (c.kind === 'anomaly') return `${metric}: anomaly${over}`;
  return `${metric} ${c.op ?? '?'} ${c.value ?? '?'}${over}`;
}
