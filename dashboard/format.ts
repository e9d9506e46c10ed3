const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** Events per second: one decimal below 10, whole numbers above. */
export function formatRate(perSecond: number): string {
  return perSecond < 10 ? oneDecimal.format(perSecond) : integer.format(perSecond);
}

/** "10:02 UTC" (minute and hour buckets) or "2026-11-23" (days): the API's buckets are UTC. */
export function formatBucket(ms: number, granularity: 'minute' | 'hour' | 'day'): string {
  const iso = new Date(ms).toISOString();
  return granularity === 'day' ? iso.slice(0, 10) : `${granularity === 'hour' ? iso.slice(5, 10) + ' ' : ''}${iso.slice(11, 16)} UTC`;
}

/** "3 s", "2 min", "1 h 5 min": how long ago or how long until. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}
