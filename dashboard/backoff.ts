export interface BackoffOptions {
  /** The first delay's ceiling. */
  baseMs: number;
  /** No delay is longer. */
  maxMs: number;
  /** A number in [0, 1): Math.random, or a seeded one in tests. */
  random?: () => number;
}

/**
 * Reconnect delays: exponential, with "equal jitter" (half the ceiling fixed, half
 * random), so the dashboards a restarted gateway dropped (close 1001) come back spread
 * over the interval instead of all at once, and no delay is ever zero.
 */
export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** After a connection that worked: the next delay starts small again. */
  reset(): void {
    this.attempt = 0;
  }
}
