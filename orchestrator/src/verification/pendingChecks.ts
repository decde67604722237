import type { RedisClient } from '../redis/redisClient.js';

/**
 * Sampled results of each worker whose check has not concluded yet, in Redis (one sorted set per
 * worker, scored by when the check started) so every orchestrator sees the same. A worker with
 * `limit` or more open checks wins no work until they conclude: checking never falls behind what
 * a worker publishes, whatever the orchestrators' spare CPU. An entry older than `maxAgeMs` no
 * longer counts (a check lost to a crash must not bar a worker for good).
 */
export class PendingChecks {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly limit: number,
    private readonly maxAgeMs: number,
  ) {}

  // Under the market's hash tag: `counts` reads many workers' keys in one pipeline (one Cluster slot).
  private key = (worker: string) => `${this.prefix}:{mkt}:checks-pending:${worker.toLowerCase()}`;

  async add(worker: string, jobId: string): Promise<void> {
    await this.redis.multi().zadd(this.key(worker), Date.now(), jobId).pexpire(this.key(worker), this.maxAgeMs).exec();
  }

  async done(worker: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.key(worker), jobId);
  }

  /** Open checks per worker (one round trip for all). */
  async counts(workers: readonly string[]): Promise<number[]> {
    if (workers.length === 0) return [];
    const pipe = this.redis.pipeline();
    const since = Date.now() - this.maxAgeMs;
    for (const w of workers) pipe.zcount(this.key(w), since, '+inf');
    return ((await pipe.exec()) ?? []).map(([, n]) => Number(n ?? 0));
  }
}
