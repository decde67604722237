import type { RedisClient } from '../redis/redisClient.js';

/**
 * Streams whose content was too hard for a quality check to judge (an honest encode of a sampled
 * segment failed the same measures: media/src/quality/secondOpinion.ts). While a stream is marked,
 * every one of its results that cannot be compared bit for bit is checked (sampleResult.ts), so a
 * worker that tampers only where the check cannot judge gains nothing: its output never reaches
 * viewers, the orchestrator's transcode does, and it wins less work while its checks are open. The
 * mark is renewed by every inconclusive check and lapses `forMs` after the last one.
 */
export class HardContent {
  constructor(private readonly redis: RedisClient, private readonly prefix: string, readonly forMs: number) {}

  private key = (streamId: string) => `${this.prefix}:hard-content:${streamId}`;

  async mark(streamId: string): Promise<void> {
    if (this.forMs > 0) await this.redis.set(this.key(streamId), String(Date.now()), 'PX', this.forMs);
  }

  async isHard(streamId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(streamId))) === 1;
  }
}
