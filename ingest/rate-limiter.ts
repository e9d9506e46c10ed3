import { SignalboardError } from '../core/errors.js';
import type { Redis } from '../core/redis.js';

/** A fixed-window event budget per project, shared by every ingest process through Redis. */
export class RateLimiter {
  constructor(private readonly redis: Redis, private readonly options: { prefix: string; limit: number; windowSeconds: number }) {}

  /** Takes `events` from the project's budget or throws SB_RATE_LIMITED with the seconds left in the window. */
  async take(projectId: string, events: number, now = Date.now()): Promise<void> {
    const { limit, windowSeconds, prefix } = this.options;
    if (limit === 0) return;
    const windowMs = windowSeconds * 1000;
    const window = Math.floor(now / windowMs);
    const taken = await this.redis.sbTakeRate(`${prefix}:ratelimit:${projectId}:${window}`, events, limit, windowMs);
    if (taken === 1) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
    const why = events > limit ? `a request of ${events} events can never fit` : 'the budget for this window is spent';
    throw new SignalboardError('SB_RATE_LIMITED', `rate limit of ${limit} events per ${windowSeconds}s (RATE_LIMIT_EVENTS) reached: ${why}`, { retryAfterSeconds });
  }
}
