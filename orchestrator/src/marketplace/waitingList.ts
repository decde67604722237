import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/redisClient.js';
import { marketKeys, type MarketKeys } from './keys.js';

const TAKE = { numberOfKeys: 3, lua: readFileSync(new URL('./lua/take-3.lua', import.meta.url), 'utf8') };
type Commands = { segmintTake(...a: (string | number)[]): Promise<string[]> };

/**
 * A waiting segment as taken: its id, since when it waits (ms), and the entry stored with it (none
 * when it came back from an ended lease, or was put without one).
 */
export type Taken = { jobId: string; since: number; entry?: string };

/**
 * Segments no worker had a free slot for, oldest first, in Redis and shared by every orchestrator:
 * whichever has a free slot first dispatches the oldest (a slot freed by a result arriving at any
 * orchestrator is used at once, and a segment outlives the orchestrator that queued it).
 * A taken segment is under a lease until it is dispatched (done) or put back; an orchestrator that
 * dies mid-dispatch leaves a lease that ends, and the segment goes back to its place in the list.
 */
export class WaitingList {
  private readonly redis: RedisClient & Commands;
  private readonly k: MarketKeys;

  constructor(redis: RedisClient, prefix: string, private readonly leaseMs: number) {
    if (!('segmintTake' in redis)) redis.defineCommand('segmintTake', TAKE);
    this.redis = redis as RedisClient & Commands;
    this.k = marketKeys(prefix);
  }

  /** Adds a segment (or puts a taken one back) with the time it began waiting and what dispatching it needs. */
  async put(jobId: string, since: number, entry?: string): Promise<void> {
    await this.redis.multi()
      .zrem(this.k.taking, jobId)
      .zadd(this.k.waiting, since, jobId)
      .hset(this.k.waitingSince, jobId, entry === undefined ? String(since) : `${since}|${entry}`)
      .exec();
  }

  /** Takes up to `max` of the oldest (0: none, only the count); `left` = how many still wait. */
  async take(max: number, now = Date.now()): Promise<{ taken: Taken[]; left: number }> {
    const [left, ...rest] = await this.redis.segmintTake(this.k.waiting, this.k.taking, this.k.waitingSince, now, this.leaseMs, max);
    const taken: Taken[] = [];
    for (let i = 0; i < rest.length; i += 2) {
      const bar = rest[i + 1]!.indexOf('|');
      if (bar < 0) taken.push({ jobId: rest[i]!, since: Number(rest[i + 1]) });
      else taken.push({ jobId: rest[i]!, since: Number(rest[i + 1]!.slice(0, bar)), entry: rest[i + 1]!.slice(bar + 1) });
    }
    return { taken, left: Number(left) };
  }

  /** Segments dispatched or given up: off the list (one call for a whole batch). */
  async done(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.redis.multi().zrem(this.k.waiting, ...jobIds).zrem(this.k.taking, ...jobIds).hdel(this.k.waitingSince, ...jobIds).exec();
  }

  /** Whether the segment waits, or is being dispatched (its lease, even ended, brings it back). */
  async has(jobId: string): Promise<boolean> {
    const [[, a], [, b]] = (await this.redis.pipeline().zscore(this.k.waiting, jobId).zscore(this.k.taking, jobId).exec()) as [[null, string | null], [null, string | null]];
    return a !== null || b !== null;
  }
}
