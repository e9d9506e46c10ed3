/** The server's own bound on Retry-After (INGEST_RETRY_AFTER_SECONDS at most 3600); larger values are read as this. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const SECONDS = /^\d+$/;
// An HTTP-date starts with a day name: IMF-fixdate, RFC 850 or asctime (RFC 9110 section 5.6.7).
// Without this check Date.parse would read "1.5" as a date.
const HTTP_DATE = /^[A-Za-z]{3}/;
// asctime dates carry no zone but are GMT; Date.parse would read them as local time.
const HAS_ZONE = /GMT|UTC|[+-]\d{4}$/;

/**
 * A Retry-After header (RFC 9110 section 10.2.3) as milliseconds from `nowMs`: delay
 * seconds or an HTTP-date. Undefined when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  const at = HTTP_DATE.test(text) ? Date.parse(HAS_ZONE.test(text) ? text : `${text} GMT`) : NaN;
  const ms = SECONDS.test(text) ? Number(text) * 1000 : Math.max(0, at - nowMs);
  return Number.isNaN(ms) ? undefined : Math.min(ms, MAX_RETRY_AFTER_MS);
}
