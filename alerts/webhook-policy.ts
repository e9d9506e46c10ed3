/** What an attempt's answer means for its delivery, and when the next one is due. Pure. */

export type DeliveryOutcome = 'delivered' | 'retry' | 'dead';

/**
 * What an attempt's answer means for its delivery: a 2xx is delivered; no answer
 * (timeout, connection error, destination refused), 408, 429 and 5xx may pass, so they
 * are retried while attempts are left; any other status (a 410 Gone, 404, 401, 400, a
 * redirect, which is not followed) will not change by itself, so the delivery is dead
 * at once instead of spending its attempts.
 */
export function attemptOutcome(status: number | undefined, attempts: number, maxAttempts: number): DeliveryOutcome {
  if (status !== undefined && status >= 200 && status < 300) return 'delivered';
  const retriable = status === undefined || status === 408 || status === 429 || status >= 500;
  return retriable && attempts < maxAttempts ? 'retry' : 'dead';
}

/**
 * The wait after failed attempt number `attempt` (1-based): base, 2×base, 4×base, ...,
 * at most `maxMs`. No jitter: alert deliveries are few, and a fixed schedule is one
 * the docs can state.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (Math.max(1, Math.floor(attempt)) - 1));
}
