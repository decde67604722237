import { readFileSync } from 'node:fs';
import { scanKeys, type RedisClient } from '../redis/redisClient.js';
import { activeStreamsKey, drainingStreamsKey, liveKeys } from '@segmint/protocol';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = {
  segmintAdmit: { numberOfKeys: 4, lua: lua('admit-4.lua') },
  segmintResolve: { numberOfKeys: 5, lua: lua('resolve-5.lua') },
  segmintEnd: { numberOfKeys: 4, lua: lua('end-4.lua') },
  segmintForget: { numberOfKeys: 1, lua: lua('forget-1.lua') },
  segmintRevise: { numberOfKeys: 2, lua: lua('revise-2.lua') },
};

/** One accepted segment with every rendition, as the playlists need it. */
export type SegmentEntry = {
  seq: number;
  session: number;
  durationSec: number;
  ingestedAt: number;
  /** Revision: > 0 once a caught segment was replaced (its files have a new name). */
  rev?: number;
  /**
   * Rendition name (including `source`) → facts for the playlists; `sha256` of the whole file is what
   * the signed hash sidecar vouches for (absent on segments published before it existed).
   */
  renditions: Record<string, { bytes: number; durationSec: number; width: number; height: number; codecs: string; fps: number; sha256?: string }>;
};

export type PublishedRecord = { index: number; discontinuity: boolean; entry: SegmentEntry };

export type AdmitStatus = 'ok' | 'duplicate' | 'conflict' | 'too-late' | 'moved';

export type LiveMeta = {
  session: number;
  nextSeq: number;
  mediaIndex: number;
  discBase: number;
  ended: boolean;
  lastIngestAt: number | null;
  startedAt: number | null;
};

type Commands = {
  segmintAdmit(...args: (string | number)[]): Promise<[AdmitStatus, string, number]>;
  segmintResolve(...args: (string | number)[]): Promise<[number, string[], string[]]>;
  segmintEnd(...args: (string | number)[]): Promise<[number, number]>;
  segmintForget(...args: (string | number)[]): Promise<number>;
  segmintRevise(...args: (string | number)[]): Promise<number>;
};

/**
 * A stream's live state in Redis: which seqs are in flight, which are accepted and waiting for
 * their turn, and the published list the playlists are rendered from. Every multi-key change is
 * one Lua script on one stream's keys (one Cluster slot), so several orchestrators can share a
 * Redis or a Redis Cluster. The sweeps find streams through two indexes (active, draining) in
 * another slot: a stream is indexed before its state says live and leaves the index only after
 * its state says ended, and `reindex` repairs what a crash between the two left behind.
 */
export class LiveState {
  readonly redis: RedisClient & Commands;

  constructor(redis: RedisClient, readonly prefix: string) {
    for (const [name, def] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, def);
    }
    this.redis = redis as RedisClient & Commands;
  }

  private keys(streamId: string) {
    return liveKeys(this.prefix, streamId);
  }

  /**
   * `rtmpOwner`: the RTMP claim a segment was cut under (rtmp/publisherClaims.ts); once the claim
   * is another orchestrator's the segment is not admitted ('moved').
   */
  async admit(streamId: string, seq: number, sourceSha: string, rtmpOwner = ''): Promise<{ status: AdmitStatus; session: number; newSession: boolean }> {
    const k = this.keys(streamId);
    const now = Date.now();
    // Indexed first: a crash after this leaves an entry the idle sweep clears, never a live
    // session no sweep can find.
    await this.redis.zadd(activeStreamsKey(this.prefix), now, streamId);
    const [status, session, newSession] = await this.redis.segmintAdmit(k.meta, k.inflight, k.ready, k.rtmp, seq, sourceSha, now, rtmpOwner);
    return { status, session: Number(session), newSession: newSession === 1 };
  }

  /**
   * Records a segment's outcome and publishes whatever is now in order.
   * `entry: null` means the segment failed for good and is skipped.
   */
  async resolve(streamId: string, seq: number, entry: SegmentEntry | null, keep: number) {
    const k = this.keys(streamId);
    const [resolved, published, evicted] = await this.redis.segmintResolve(
      k.meta, k.inflight, k.ready, k.published, k.outbox, seq, entry ? JSON.stringify(entry) : 'skip', keep,
    );
    const parse = (r: string) => JSON.parse(r) as PublishedRecord;
    return { resolved: resolved === 1, published: published.map(parse), evicted: evicted.map(parse) };
  }

  /**
   * Moves a published (or waiting) segment to revision `rev` (its files were replaced under new
   * names, whose sha256 and length by rendition are `files`). Returns the previous revision, or -1 when the segment is no longer listed.
   */
  async revise(streamId: string, session: number, seq: number, rev: number, files: Record<string, { sha256: string; bytes: number }> = {}): Promise<number> {
    const k = this.keys(streamId);
    return this.redis.segmintRevise(k.ready, k.published, session, seq, rev, JSON.stringify(files));
  }

  /** Streams with a live session (not ended), oldest ingest first. */
  /** Streams with a live session, each with its last ingest (ms), oldest first. */
  async activeWithLastIngest(): Promise<{ streamId: string; lastIngestAt: number }[]> {
    const flat = await this.redis.zrange(activeStreamsKey(this.prefix), '0', '-1', 'WITHSCORES');
    const out: { streamId: string; lastIngestAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ streamId: flat[i]!, lastIngestAt: Number(flat[i + 1]) });
    return out;
  }

  async activeStreams(): Promise<string[]> {
    return this.redis.zrange(activeStreamsKey(this.prefix), '0', '-1');
  }

  /** Streams whose session ended with seqs still in flight (their EXT-X-ENDLIST waits on them). */
  async drainingStreams(): Promise<string[]> {
    return this.redis.zrange(drainingStreamsKey(this.prefix), '0', '-1');
  }

  /** Takes a stream off the draining set once nothing of its ended session is in flight. */
  async drained(streamId: string): Promise<void> {
    if ((await this.redis.hlen(this.keys(streamId).inflight)) === 0) await this.redis.zrem(drainingStreamsKey(this.prefix), streamId);
  }

  /** Seqs in flight (admitted, not yet published or skipped), ascending. */
  async inflightSeqs(streamId: string): Promise<number[]> {
    return (await this.redis.hkeys(this.keys(streamId).inflight)).map(Number).sort((a, b) => a - b);
  }

  /** Seqs accepted (or skipped) and waiting for their turn. */
  async readySeqs(streamId: string): Promise<number[]> {
    return (await this.redis.hkeys(this.keys(streamId).ready)).map(Number);
  }

  /** Ends the session now (`force`) or only if nothing was ingested since `idleCutoff`. */
  async end(streamId: string, idleCutoff: number | 'force'): Promise<boolean> {
    const k = this.keys(streamId);
    const threshold = idleCutoff === 'force' ? Date.now() : idleCutoff;
    const [status, inflight] = await this.redis.segmintEnd(k.meta, k.outbox, k.inflight, k.rtmp, idleCutoff);
    if (status === 0) return false;
    if (inflight > 0) await this.redis.zadd(drainingStreamsKey(this.prefix), 'NX', Date.now(), streamId);
    await this.redis.segmintForget(activeStreamsKey(this.prefix), streamId, threshold);
    return status === 1;
  }

  /**
   * Puts back in the indexes every stream whose state says live (or ended with seqs in flight)
   * but which is missing from them: a process killed between an index update and the state
   * change leaves that behind. Scans every Cluster master; run now and then, not per segment.
   */
  async reindex(): Promise<number> {
    let repaired = 0;
    for (const key of await scanKeys(this.redis, `${escapeGlob(this.prefix)}:live:{*}:meta`)) {
      const streamId = /:live:\{(.+)\}:meta$/.exec(key)?.[1];
      if (!streamId) continue;
      const k = this.keys(streamId);
      const [[ended, lastIngestAt], inflight] = await Promise.all([this.redis.hmget(k.meta, 'ended', 'lastIngestAt'), this.redis.hlen(k.inflight)]);
      const index = ended === '1' ? (inflight > 0 ? drainingStreamsKey(this.prefix) : null) : activeStreamsKey(this.prefix);
      if (index && (await this.redis.zadd(index, 'NX', Number(lastIngestAt ?? 0), streamId)) === 1) repaired++;
    }
    return repaired;
  }

  /** Whether a stream is published over RTMP on any orchestrator, or inside its reconnect window (rtmp/publisherClaims.ts). */
  async heldOverRtmp(streamId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys(streamId).rtmp)) === 1;
  }

  /** Streams whose last ingest is at or before `cutoff` (ms). */
  async idleStreams(cutoff: number): Promise<string[]> {
    return this.redis.zrangebyscore(activeStreamsKey(this.prefix), '-inf', cutoff);
  }

  async meta(streamId: string): Promise<LiveMeta | null> {
    const m = await this.redis.hgetall(this.keys(streamId).meta);
    if (!m.session) return null;
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    return {
      session: n(m.session),
      nextSeq: n(m.nextSeq),
      mediaIndex: n(m.mediaIndex),
      discBase: n(m.discBase),
      ended: m.ended === '1',
      lastIngestAt: m.lastIngestAt ? Number(m.lastIngestAt) : null,
      startedAt: m.startedAt ? Number(m.startedAt) : null,
    };
  }

  /** What the playlists need in one round trip: meta, published records, in-flight count. */
  async snapshot(streamId: string): Promise<{ meta: LiveMeta | null; published: PublishedRecord[]; inflight: number }> {
    const k = this.keys(streamId);
    const [published, inflight] = await Promise.all([
      this.redis.lrange(k.published, 0, -1),
      this.redis.hlen(k.inflight),
    ]);
    return { meta: await this.meta(streamId), published: published.map((r) => JSON.parse(r) as PublishedRecord), inflight };
  }

  /** Removes all live state of a stream (after deletion). */
  async clear(streamId: string): Promise<void> {
    const k = this.keys(streamId);
    await this.redis.del(k.meta, k.inflight, k.ready, k.published); // one slot: one DEL
    await this.redis.zrem(activeStreamsKey(this.prefix), streamId);
  }
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');
