/** A dimension's values over the chart's range, as GET /v1/metrics/timeseries?breakdown= gives them (most events first). */
export interface BreakdownValue {
  value: string;
  total: number;
}

export interface BreakdownRow extends BreakdownValue {
  /** Of all the range's events, 0..1: the bar's width. */
  share: number;
  /** "62%", "<1%". */
  shareText: string;
}

/** While events of the charted event arrive, the breakdown is read again at most this often. */
export const BREAKDOWN_REFRESH_MS = 5000;

export function breakdownRows(values: readonly BreakdownValue[]): BreakdownRow[] {
  const all = values.reduce((sum, v) => sum + v.total, 0);
  return values.map((v) => {
    const share = all === 0 ? 0 : v.total / all;
    return { ...v, share, shareText: share > 0 && share < 0.005 ? '<1%' : `${Math.round(share * 100)}%` };
  });
}

/**
 * How long to wait before reading the breakdown again, as the chart redraws (its event's
 * counts or its range changed): 0 when the query (event, granularity, first bucket,
 * dimension) changed since the last read, else what is left of `refreshMs` since it.
 */
export function breakdownWait(last: { key: string; at: number } | null, key: string, now: number, refreshMs = BREAKDOWN_REFRESH_MS): number {
  if (last === null || last.key !== key) return 0;
  return Math.max(0, last.at + refreshMs - now);
}
