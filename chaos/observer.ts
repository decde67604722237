import { Redis } from 'ioredis';
import HLS from 'hls-parser';
import { liveKeys } from '@segmint/protocol';

/**
 * Watches one stream from outside, as the chaos run's witness: every 200 ms the live state in
 * Redis (which seqs were admitted, which published, at which playlist index), and every 500 ms a
 * viewer's media playlist through the entry point (how long it stood still).
 */
export class Observer {
  /** `session:seq` of every seq seen admitted. */
  readonly ingested = new Set<string>();
  /** `session:seq` → playlist indexes it was published at (more than one: published twice). */
  readonly published = new Map<string, Set<number>>();
  /** Longest time the viewer's playlist did not grow while the publisher was on. */
  longestStallMs = 0;
  private lastGrowth = Date.now();
  private lastIndex = -1;
  private timers: NodeJS.Timeout[] = [];
  private readonly redis: Redis;

  constructor(redisUrl: string, private readonly prefix: string, private readonly streamId: string, private readonly playlistUrl: string, private readonly publishing: () => boolean) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.redis.on('error', () => {});
  }

  start(): void {
    this.timers.push(setInterval(() => void this.pollState().catch(() => {}), 200));
    this.timers.push(setInterval(() => void this.pollPlaylist().catch(() => {}), 500));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.redis.disconnect();
  }

  /** Polls once more (after the run: the final state). */
  async settle(): Promise<void> {
    await this.pollState();
  }

  async inflight(): Promise<number> {
    return this.redis.hlen(liveKeys(this.prefix, this.streamId).inflight);
  }

  private async pollState(): Promise<void> {
    const k = liveKeys(this.prefix, this.streamId);
    const [session, inflight, published] = await Promise.all([this.redis.hget(k.meta, 'session'), this.redis.hkeys(k.inflight), this.redis.lrange(k.published, 0, -1)]);
    for (const seq of inflight) this.ingested.add(`${session}:${seq}`);
    for (const raw of published) {
      const r = JSON.parse(raw) as { index: number; entry: { session: number; seq: number } };
      const id = `${r.entry.session}:${r.entry.seq}`;
      this.ingested.add(id);
      const at = this.published.get(id) ?? new Set<number>();
      at.add(r.index);
      this.published.set(id, at);
    }
  }

  private async pollPlaylist(): Promise<void> {
    const res = await fetch(this.playlistUrl, { signal: AbortSignal.timeout(2000) });
    const now = Date.now();
    if (res.ok) {
      const pl = HLS.parse(await res.text()) as HLS.types.MediaPlaylist;
      const last = pl.mediaSequenceBase! + pl.segments.length - 1;
      if (last > this.lastIndex) {
        this.lastIndex = last;
        this.lastGrowth = now;
        return;
      }
    }
    if (this.publishing()) this.longestStallMs = Math.max(this.longestStallMs, now - this.lastGrowth);
    else this.lastGrowth = now;
  }

  /** Seqs published at more than one playlist index. */
  duplicated(): number {
    return [...this.published.values()].filter((at) => at.size > 1).length;
  }
}
