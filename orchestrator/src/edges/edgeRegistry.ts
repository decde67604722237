import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/redisClient.js';
import type { EdgeRegistration } from '@segmint/protocol';
import type { StakeReader } from '../marketplace/stake.js';
import { edgeKeys, type EdgeKeys } from './keys.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = { segmintEdgeRegister: { numberOfKeys: 2, lua: lua('register-2.lua') }, segmintEdgeCountOnce: { numberOfKeys: 2, lua: lua('countOnce-2.lua') } };
/** How long a counted batch is remembered (an edge retries a batch within minutes, not days). */
const COUNTED_TTL_MS = 86_400_000;
type Commands = { segmintEdgeRegister(...a: (string | number)[]): Promise<number>; segmintEdgeCountOnce(...a: (string | number)[]): Promise<number> };

export type EdgeRecord = { edge: string; url: string; maxViewers: number; registeredAt: number };

/** An edge as steering and `GET /edges` see it. */
export type EdgeView = EdgeRecord & {
  fresh: boolean;
  excluded: boolean;
  /** Viewer sessions steered here and not yet idle. */
  load: number;
  stake: bigint;
  /** Mystery checks failed in a row (slow, unreachable); 3 or more: no new viewers. */
  mysteryFailStreak: number;
  /** EWMA of the mystery viewer's fetch time, ms. */
  latencyMs: number;
  stats: Record<string, string>;
};

/** Weight of the newest mystery fetch in the latency EWMA. */
const ALPHA = 0.3;

/**
 * Edges in Redis, shared by every orchestrator: registrations (replay-protected by nonce),
 * heartbeats (a key with a TTL), load (sessions steered to each), exclusions with their evidence,
 * and counters. Key names come from keys.ts only.
 */
export class EdgeRegistry {
  readonly redis: RedisClient & Commands;
  readonly k: EdgeKeys;

  constructor(redis: RedisClient, prefix: string, private readonly stake: StakeReader, private readonly heartbeatTtlMs: number) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
    this.k = edgeKeys(prefix);
  }

  /** Stores a registration whose signature was verified; false when its nonce was used already. */
  async register(r: EdgeRegistration): Promise<boolean> {
    const edge = r.edge.toLowerCase();
    const record: EdgeRecord = { edge, url: r.url, maxViewers: r.maxViewers, registeredAt: Date.now() };
    const stored = await this.redis.segmintEdgeRegister(this.k.nonces, this.k.registry, edge, r.nonce, JSON.stringify(record));
    if (stored !== 1) return false;
    await this.heartbeat(edge);
    return true;
  }

  async heartbeat(edge: string): Promise<boolean> {
    const e = edge.toLowerCase();
    if (!(await this.redis.hexists(this.k.registry, e))) return false;
    await this.redis.set(this.k.edge(e).heartbeat, '1', 'PX', this.heartbeatTtlMs);
    return true;
  }

  async record(edge: string): Promise<EdgeRecord | null> {
    const raw = await this.redis.hget(this.k.registry, edge.toLowerCase());
    return raw ? (JSON.parse(raw) as EdgeRecord) : null;
  }

  /** Every registered edge with freshness, exclusion, load and counters (pipelined: a few round trips for any n). */
  async views(now = Date.now()): Promise<EdgeView[]> {
    const records = Object.values(await this.redis.hgetall(this.k.registry)).map((v) => JSON.parse(v) as EdgeRecord);
    if (records.length === 0) return [];
    // one pipeline per edge: its keys share a hash tag (Redis Cluster runs a pipeline per slot)
    const res = await Promise.all(records.map(async (r) => {
      const k = this.k.edge(r.edge);
      const out = (await this.redis.pipeline().zremrangebyscore(k.sessions, '-inf', now).exists(k.heartbeat).exists(k.excluded).zcard(k.sessions).hgetall(k.stats).exec()) ?? [];
      return out.map(([, v]) => v);
    }));
    const stakes = await Promise.all(records.map((r) => this.stake.read(r.edge)));
    return records.map((r, i) => {
      const [, hb, excluded, load, st] = res[i]!;
      const stats = (st ?? {}) as Record<string, string>;
      return {
        ...r,
        fresh: hb === 1,
        excluded: excluded === 1,
        load: Number(load ?? 0),
        stake: stakes[i]!.unavailable || stakes[i]!.jailed ? 0n : stakes[i]!.stake,
        mysteryFailStreak: Number(stats.mysteryFailStreak ?? 0),
        latencyMs: Number(stats.latencyMs ?? 0),
        stats,
      };
    });
  }

  /** Counts a session steered to `edge` until `expiresAt` (ms); touched again by each accepted receipt. */
  async addLoad(edge: string, session: string, expiresAt: number): Promise<void> {
    await this.redis.zadd(this.k.edge(edge).sessions, expiresAt, session);
  }

  /** Adds one receipt batch's counters once (a batch submitted again is not counted twice). */
  async countBatch(edge: string, batchId: string, counters: Record<string, number | bigint>): Promise<void> {
    const k = this.k.edge(edge);
    const pairs = Object.entries(counters).filter(([, n]) => n).flatMap(([f, n]) => [f, n.toString()]);
    await this.redis.segmintEdgeCountOnce(k.stats, k.counted(batchId), COUNTED_TTL_MS, ...pairs);
  }

  async count(edge: string, counters: Record<string, number | bigint>): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const [field, n] of Object.entries(counters)) if (n) pipe.hincrby(this.k.edge(edge).stats, field, n.toString());
    await pipe.exec();
  }

  /** One mystery check's outcome: latency EWMA, fail streak, counters. */
  async mystery(edge: string, ok: boolean, latencyMs: number | null): Promise<void> {
    const k = this.k.edge(edge).stats;
    const prev = Number((await this.redis.hget(k, 'latencyMs')) ?? 0);
    const pipe = this.redis.pipeline().hincrby(k, ok ? 'mysteryOk' : 'mysteryFailed', 1);
    if (ok) pipe.hset(k, 'mysteryFailStreak', 0);
    else pipe.hincrby(k, 'mysteryFailStreak', 1);
    if (latencyMs !== null) pipe.hset(k, 'latencyMs', (prev === 0 ? latencyMs : prev * (1 - ALPHA) + latencyMs * ALPHA).toFixed(1));
    await pipe.exec();
  }

  /** Keeps an edge from viewers and payment for `ms`, recording why (never shortens a longer exclusion). */
  async exclude(edge: string, ms: number, fault: Record<string, unknown>): Promise<void> {
    const k = this.k.edge(edge);
    await this.redis.lpush(k.faults, JSON.stringify({ ...fault, at: Date.now() }));
    await this.redis.ltrim(k.faults, 0, 99);
    if ((await this.redis.pttl(k.excluded)) < ms) await this.redis.set(k.excluded, JSON.stringify(fault), 'PX', Math.max(1, ms));
  }

  async isExcluded(edge: string): Promise<boolean> {
    return (await this.redis.exists(this.k.edge(edge).excluded)) === 1;
  }

  async faults(edge: string): Promise<unknown[]> {
    return (await this.redis.lrange(this.k.edge(edge).faults, 0, 99)).map((s) => JSON.parse(s));
  }
}
