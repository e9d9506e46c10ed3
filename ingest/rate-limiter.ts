import { SignalboardError } from '../core/errors.js';
import type { Redis } from '../core/redis.js';

/**
 * KEYS[1] the project's counter for the current window.
 * ARGV[1] events asked for, ARGV[2] the limit, ARGV[3] window length in ms.
 * Returns 1 when taken, 0 when the events would pass the limit (nothing is counted
 * then, so a refused request costs no quota).
 */
const TAKE_LUA = `
local n = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + n > tonumber(ARGV[2]) then return 0 end
if redis.call('INCRBY', KEYS[1], n) == n then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

type LimitingRedis = Redis & { sbTakeRate(key: string, n: number, limit: number, windowMs: number): Promise<number> };

/** A fixed-window event budget per project, shared by every ingest process through Redis. */
export class RateLimiter {
  private readonly redis: LimitingRedis;

  constructor(redis: Redis, private readonly options: { prefix: string; limit: number; windowSeconds: number }) {
    redis.defineCommand('sbTakeRate', { numberOfKeys: 1, lua: TAKE_LUA });
    this.redis = redis as LimitingRedis;
  }

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
