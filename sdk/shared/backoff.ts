/** The first retry waits up to this long; each later one up to twice as long as the one before. */
export const RETRY_BASE_MS = 1000;
/** No retry waits longer than this (unless the server's Retry-After says so). */
export const RETRY_MAX_MS = 30_000;

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): a
 * uniformly random wait below the exponential bound, so clients that failed together
 * do not retry together. `retry` counts from 0; `random` is in [0, 1).
 */
export function backoffDelay(retry: number, random: number, baseMs = RETRY_BASE_MS, maxMs = RETRY_MAX_MS): number {
  return Math.floor(random * Math.min(maxMs, baseMs * 2 ** retry));
}
