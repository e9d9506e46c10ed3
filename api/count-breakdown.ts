import type { CountDoc } from '../model/collections.js';
import { OTHER_VALUE } from '../model/breakdown-values.js';
import { unescapeKey } from '../model/field-names.js';

export interface BreakdownSeries {
  value: string;
  /** The value's events over the whole range. */
  total: number;
  /** One count per bucket of `buckets`, in order. */
  counts: number[];
}

/**
 * The counts of one event per value of `dimension`, per bucket: from its count documents
 * and their changes not folded yet (each adds to its bucket), the `limit` values with the
 * most events first (ties by value), the rest, and the events ingest counted as
 * "(other)", as one "(other)" row, last. Every event has exactly one
 * value per dimension ("(none)" when it had none), so each bucket's counts add up to the
 * bucket's count. Pure.
 */
export function breakdownSeries(docs: ReadonlyArray<Pick<CountDoc, 'bucket' | 'by'>>, dimension: string, buckets: readonly number[], limit: number): BreakdownSeries[] {
  const index = new Map(buckets.map((t, i) => [t, i]));
  const byValue = new Map<string, number[]>();
  for (const doc of docs) {
    const at = index.get(doc.bucket.getTime());
    if (at === undefined) continue;
    for (const [stored, n] of Object.entries(doc.by?.[dimension] ?? {})) {
      const value = unescapeKey(stored);
      let counts = byValue.get(value);
      if (counts === undefined) byValue.set(value, (counts = new Array<number>(buckets.length).fill(0)));
      counts[at]! += n;
    }
  }
  const all = [...byValue]
    .map(([value, counts]) => ({ value, total: counts.reduce((a, b) => a + b, 0), counts }))
    .filter((s) => s.total !== 0)
    .sort((a, b) => b.total - a.total || (a.value < b.value ? -1 : 1));
  // Events counted as "(other)" at ingest (too many distinct values that day) join the rows past the limit, last.
  const named = all.filter((s) => s.value !== OTHER_VALUE);
  const rest = [...named.slice(limit), ...all.filter((s) => s.value === OTHER_VALUE)];
  if (rest.length === 0) return named;
  const other = { value: OTHER_VALUE, total: 0, counts: new Array<number>(buckets.length).fill(0) };
  for (const s of rest) {
    other.total += s.total;
    s.counts.forEach((n, i) => (other.counts[i]! += n));
  }
  return [...named.slice(0, limit), other];
}
