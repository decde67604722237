import type { RedisClient } from '../redis/redisClient.js';

export type ViewerBytes = { origin: number; peer: number; rejectedSegments: number };

/** Largest amounts one report may add: a report is a viewer's word, so one cannot swamp the totals. */
export const REPORT_MAX = { bytes: 256 * 1024 * 1024, rejectedSegments: 1000 };

/**
 * Delivery totals per stream as players report them (origin bytes, peer bytes, peer segments
 * rejected), in one Redis hash per stream so every orchestrator adds to the same totals.
 * Reports are unauthenticated viewer claims: they show an operator the offload, they pay nobody.
 */
export class ViewerStats {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  private key(streamId: string) {
    return `${this.prefix}:p2p:{${streamId}}:bytes`;
  }

  async add(streamId: string, d: ViewerBytes): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.key(streamId), 'origin', d.origin)
      .hincrby(this.key(streamId), 'peer', d.peer)
      .hincrby(this.key(streamId), 'rejectedSegments', d.rejectedSegments)
      .exec();
  }

  async get(streamId: string): Promise<ViewerBytes> {
    const h = await this.redis.hgetall(this.key(streamId));
    return { origin: Number(h.origin ?? 0), peer: Number(h.peer ?? 0), rejectedSegments: Number(h.rejectedSegments ?? 0) };
  }
}
