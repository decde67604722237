import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/redisClient.js';
import { liveKeys } from '@segmint/protocol';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = {
  segmintRtmpClaim: { numberOfKeys: 2, lua: lua('claim-2.lua') },
  segmintRtmpRenew: { numberOfKeys: 1, lua: lua('renew-1.lua') },
  segmintRtmpRelease: { numberOfKeys: 1, lua: lua('release-1.lua') },
  segmintRtmpWindowOver: { numberOfKeys: 1, lua: lua('windowOver-1.lua') },
};
type Commands = {
  segmintRtmpClaim(...a: (string | number)[]): Promise<[ClaimOutcome, number]>;
  segmintRtmpRenew(...a: (string | number)[]): Promise<number>;
  segmintRtmpRelease(...a: (string | number)[]): Promise<number>;
  segmintRtmpWindowOver(...a: (string | number)[]): Promise<number>;
};

export type ClaimOutcome = 'new' | 'continue' | 'taken' | 'busy' | 'stale';

/**
 * Which orchestrator receives a stream over RTMP, and its reconnect window, in Redis (one Lua
 * script per change): a publisher that drops, or whose orchestrator is killed, continues the same
 * session on whichever orchestrator it reaches next, within the window. The receiving orchestrator
 * holds a lease it renews; a lease that lapses (the process died) starts the window.
 */
export class PublisherClaims {
  private readonly redis: RedisClient & Commands;

  constructor(redis: RedisClient, private readonly prefix: string, readonly owner: string, private readonly o: { leaseMs: number; windowMs: number; idleMs: number }) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
  }

  private keys(streamId: string) {
    return liveKeys(this.prefix, streamId);
  }

  async claim(streamId: string): Promise<{ outcome: ClaimOutcome; baseSeq: number }> {
    const k = this.keys(streamId);
    const [outcome, baseSeq] = await this.redis.segmintRtmpClaim(k.rtmp, k.meta, this.owner, Date.now(), this.o.leaseMs, this.o.windowMs, this.o.idleMs);
    return { outcome, baseSeq: Number(baseSeq) };
  }

  /**
   * Keeps the leases of streams received here, all sent at once (each stream's key has its own
   * slot: no pipeline); returns the streams no longer this orchestrator's to receive. Throws when
   * Redis cannot be reached.
   */
  async renew(held: readonly string[]): Promise<string[]> {
    const now = Date.now();
    const mine = await Promise.all(held.map((streamId) => this.redis.segmintRtmpRenew(this.keys(streamId).rtmp, this.owner, now, this.o.leaseMs, this.o.windowMs)));
    return held.filter((_, i) => mine[i] !== 1);
  }

  /** The publisher dropped and what it sent was ingested: its reconnect window starts. */
  async release(streamId: string): Promise<void> {
    await this.redis.segmintRtmpRelease(this.keys(streamId).rtmp, this.owner, Date.now(), this.o.windowMs);
  }

  /** True when the window this orchestrator started ran out with nobody back (end the session). */
  async windowOver(streamId: string): Promise<boolean> {
    return (await this.redis.segmintRtmpWindowOver(this.keys(streamId).rtmp, this.owner, Date.now())) === 1;
  }
}
