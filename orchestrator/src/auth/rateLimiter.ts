import type { RedisClient } from '../redis/redisClient.js';

/** Thrown when a key used up its requests for the current window. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(readonly retryAfterSec: number) {
    super(`rate limit reached; retry in ${retryAfterSec} s`);
  }
}

/**
 * Fixed-window request counter per API key in Redis (shared by every orchestrator on that Redis):
 * `limit` requests per `windowSec`.
 */
export class RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limit: number,
    private readonly windowSec = 60,
  ) {}

  /** Counts one request of `keyId`; throws RateLimitedError past the limit. */
  async hit(keyId: string, now = Date.now()): Promise<void> {
    if (this.limit <= 0) return;
    const window = Math.floor(now / 1000 / this.windowSec);
    const key = `${this.prefix}:ratelimit:${keyId}:${window}`;
    const [[, count]] = (await this.redis.multi().incr(key).expire(key, this.windowSec * 2).exec()) as [[Error | null, number]];
    if (count > this.limit) throw new RateLimitedError(Math.max(1, Math.ceil((window + 1) * this.windowSec - now / 1000)));
  }
}
