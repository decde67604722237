import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redisClient.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = {
  segmintSweepLease: { numberOfKeys: 1, lua: lua('sweepLease-1.lua') },
  segmintSweepLeaseRelease: { numberOfKeys: 1, lua: lua('sweepLeaseRelease-1.lua') },
};
type Commands = {
  segmintSweepLease(key: string, token: string, ms: number): Promise<number>;
  segmintSweepLeaseRelease(key: string, token: string): Promise<number>;
};

/**
 * Which orchestrator runs a periodic sweep that any of them could run (the live sweep, the outbox
 * sweep, the reindex, the registry sweep): whoever holds its short lease in Redis. Every sweep is
 * safe to run twice at once (atomic scripts, per-stream leases), so the lease only saves the work
 * (and the Redis commands) of running it on N orchestrators: one round trip per tick for the
 * others instead of the whole sweep. A holder that dies stops renewing; within `leaseMs` another
 * takes over.
 */
export class SweepLease {
  private readonly redis: RedisClient & Commands;
  private readonly key: string;

  constructor(redis: RedisClient, prefix: string, sweep: string, private readonly leaseMs: number, private readonly token: string = randomUUID()) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
    this.key = `${prefix}:sweep:${sweep}:lease`;
  }

  /** Takes or keeps the lease; true when this orchestrator is to run the sweep now. */
  async held(): Promise<boolean> {
    return (await this.redis.segmintSweepLease(this.key, this.token, this.leaseMs)) === 1;
  }

  /** Gives the lease up (closing), so another orchestrator takes over at its next tick. */
  async release(): Promise<void> {
    await this.redis.segmintSweepLeaseRelease(this.key, this.token);
  }
}
