import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/redisClient.js';
import type { EdgeKeys } from './keys.js';

export type ViewerSessionRecord = {
  session: string;
  playbackId: string;
  viewerKey: string;
  /** The edge it was steered to ('' for the origin). */
  edge: string;
  startedAt: number;
  /** Bytes its receipts were paid for so far. */
  used: number;
};

/**
 * Viewer sessions in Redis: created when a player asks where to play, each bound to the key the
 * player named and to the edge it was steered to; they end after `idleSec` without an accepted
 * receipt.
 */
export class ViewerSessions {
  constructor(private readonly redis: RedisClient, private readonly k: EdgeKeys, private readonly idleSec: number) {}

  async create(playbackId: string, viewerKey: string, edge: string, now = Date.now()): Promise<ViewerSessionRecord> {
    const session = randomBytes(16).toString('base64url');
    const rec: ViewerSessionRecord = { session, playbackId, viewerKey: viewerKey.toLowerCase(), edge: edge.toLowerCase(), startedAt: now, used: 0 };
    const key = this.k.session(session).record;
    await this.redis.multi().hset(key, { playbackId, viewerKey: rec.viewerKey, edge: rec.edge, startedAt: now, used: 0 }).expire(key, this.idleSec).exec();
    return rec;
  }

  async get(session: string): Promise<ViewerSessionRecord | null> {
    const h = await this.redis.hgetall(this.k.session(session).record);
    if (!h.playbackId) return null;
    return { session, playbackId: h.playbackId, viewerKey: h.viewerKey!, edge: h.edge ?? '', startedAt: Number(h.startedAt), used: Number(h.used ?? 0) };
  }

  /** An accepted receipt keeps the session (and its seen set) alive for another `idleSec`. */
  async touch(session: string): Promise<void> {
    const k = this.k.session(session);
    await this.redis.multi().expire(k.record, this.idleSec).expire(k.seen, this.idleSec).exec();
  }

  expiresAt(now = Date.now()): number {
    return now + this.idleSec * 1000;
  }
}
