import { readFileSync } from 'node:fs';
import { isCluster, type RedisClient } from '../redis/redisClient.js';
import type { Capabilities, Registration } from '@segmint/protocol';
import type { Candidate } from './auction.js';
import type { StakeReader } from './stake.js';
import { marketKeys, type MarketKeys } from './keys.js';
import {
  deleteWorkerAclUsers, listWorkerAclUsers, newPassword, setWorkerAclUser, workerAclUser, type WorkerRedisCredentials,
} from './workerAcl.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = {
  segmintRegister: { numberOfKeys: 3, lua: lua('register-3.lua') },
  // KEYS: workers, seen, then the perf hash of each worker named in ARGV (numkeys given per call)
  segmintPrune: { lua: lua('prune-n.lua') },
  segmintClaim: { numberOfKeys: 5, lua: lua('claim-5.lua') },
  segmintSettle: { numberOfKeys: 4, lua: lua('settle-4.lua') },
  segmintUnclaim: { numberOfKeys: 3, lua: lua('unclaim-3.lua') },
  segmintExpire: { numberOfKeys: 4, lua: lua('expire-4.lua') },
  segmintPerf: { numberOfKeys: 1, lua: lua('perf-1.lua') },
};
type Commands = {
  segmintRegister(...a: (string | number)[]): Promise<number>;
  segmintPrune(...a: (string | number)[]): Promise<string[]>;
  segmintClaim(...a: (string | number)[]): Promise<number>;
  segmintSettle(...a: (string | number)[]): Promise<number>;
  segmintUnclaim(...a: (string | number)[]): Promise<number>;
  segmintExpire(...a: (string | number)[]): Promise<string[]>;
  segmintPerf(...a: (string | number)[]): Promise<[string, string]>;
};

/** Weight of the newest outcome in the performance EWMAs. */
const ALPHA = 0.2;

export type WorkerRecord = {
  worker: string;
  pricePerPixel: string;
  capabilities: Capabilities;
  registeredAt: number;
  /** SHA-256 of the worker's Redis ACL password (never the password): lets any orchestrator recreate the user. */
  aclHash?: string;
};

/** A worker as `GET /marketplace/workers` shows it: what the auction sees, plus its record and counters. */
export type WorkerView = Candidate & { registeredAt: number; counts: { jobs: number; failures: number; faults: number } };

export type RegistryOptions = {
  /**
   * Give each registered worker its own Redis ACL user reaching only its queue, at this Redis URL
   * (no credentials in it). Unset: no ACL users (benchmarks driving the registry directly).
   */
  workerRedisUrl?: string;
  /** A worker neither registering nor heartbeating for this long is forgotten by sweep(). */
  expireMs?: number;
};

/**
 * The marketplace's view of workers, in Redis so every orchestrator sees the same: registrations
 * (replay-protected by nonce), heartbeats (a key with a TTL), slots in use, deadlines of claims,
 * performance EWMAs. Multi-key changes are Lua scripts.
 */
export class Registry {
  readonly redis: RedisClient & Commands;
  /** Pub/Sub channel announcing registrations, exclusions and forgotten workers (dispatchers' views reload on it). */
  readonly changes: string;
  private readonly k: MarketKeys;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly stake: StakeReader,
    readonly heartbeatTtlMs: number,
    private readonly opts: RegistryOptions = {},
  ) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
    this.k = marketKeys(prefix);
    this.changes = this.k.changes;
  }

  /** Tells every dispatcher that `worker`'s registration or eligibility changed (best effort: views also resync). */
  private async announce(worker: string): Promise<void> {
    await this.redis.publish(this.changes, worker).catch(() => {});
  }

  /**
   * Stores a registration whose signature was verified (null when its nonce was already used).
   * With `workerRedisUrl`, creates the worker's ACL user or rotates its password, and returns the
   * credentials (the password exists only in this answer; Redis and the record keep its hash).
   */
  async register(r: Registration): Promise<{ redis: WorkerRedisCredentials | null } | null> {
    const worker = r.worker.toLowerCase();
    const secret = this.opts.workerRedisUrl !== undefined ? newPassword() : null;
    const record: WorkerRecord = { worker, pricePerPixel: r.pricePerPixel, capabilities: r.capabilities, registeredAt: Date.now(), ...(secret ? { aclHash: secret.hash } : {}) };
    const stored = await this.redis.segmintRegister(this.k.workers, this.k.nonces, this.k.seen, worker, r.nonce, JSON.stringify(record), Date.now());
    if (stored !== 1) return null;
    await this.heartbeat(worker);
    await this.announce(worker);
    if (!secret) return { redis: null };
    await setWorkerAclUser(this.redis, this.prefix, worker, secret.hash);
    // Two registrations of one worker at once: the user must end with the newest stored hash.
    const now = await this.record(worker);
    if (now?.aclHash && now.aclHash !== secret.hash) await setWorkerAclUser(this.redis, this.prefix, worker, now.aclHash);
    return { redis: { url: this.opts.workerRedisUrl!, username: workerAclUser(this.prefix, worker), password: secret.password, prefix: this.prefix, ...(isCluster(this.redis) ? { cluster: true } : {}) } };
  }

  async heartbeat(worker: string): Promise<boolean> {
    const w = worker.toLowerCase();
    if (!(await this.redis.hexists(this.k.workers, w))) return false;
    // Fresh while its last beat is within the TTL (a score, not a key with a TTL: the deadline
    // script reads it in the market's slot).
    await this.redis.zadd(this.k.seen, Date.now(), w);
    return true;
  }

  /**
   * Housekeeping any orchestrator may run at any time: forgets workers not seen for `expireMs`
   * (registration, performance, ACL user), deletes ACL users left without a registration (a crash
   * between the two steps), and recreates missing ACL users of registered workers from their
   * stored hash (Redis restarted without an ACL file). Returns the workers forgotten.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    const forgotten = this.opts.expireMs === undefined ? [] : await this.prune(now - this.opts.expireMs);
    for (const w of forgotten) await this.announce(w);
    if (this.opts.workerRedisUrl === undefined) return forgotten;
    const users = new Set(await listWorkerAclUsers(this.redis, this.prefix));
    const records = Object.values(await this.redis.hgetall(this.k.workers)).map((v) => JSON.parse(v) as WorkerRecord);
    const registered = new Set(records.map((r) => workerAclUser(this.prefix, r.worker)));
    await deleteWorkerAclUsers(this.redis, [...users].filter((u) => !registered.has(u)));
    for (const r of records) if (r.aclHash && !users.has(workerAclUser(this.prefix, r.worker))) await setWorkerAclUser(this.redis, this.prefix, r.worker, r.aclHash);
    return forgotten;
  }

  /** Forgets workers last seen before `cutoff` (the script checks again: one may have beaten since). */
  private async prune(cutoff: number): Promise<string[]> {
    const stale = await this.redis.zrangebyscore(this.k.seen, '-inf', cutoff, 'LIMIT', 0, 1000);
    if (stale.length === 0) return [];
    return this.redis.segmintPrune(2 + stale.length, this.k.workers, this.k.seen, ...stale.map((w) => this.k.perf(w)), cutoff, ...stale);
  }

  async record(worker: string): Promise<WorkerRecord | null> {
    const raw = await this.redis.hget(this.k.workers, worker.toLowerCase());
    return raw ? (JSON.parse(raw) as WorkerRecord) : null;
  }

  /** Every registered worker with what the auction needs (a few round trips, pipelined). */
  async candidates(): Promise<Candidate[]> {
    return (await this.views()).map(({ registeredAt: _r, counts: _c, ...c }) => c);
  }

  /** Every registered worker with its record and counters: the same few round trips for any n. */
  async views(): Promise<WorkerView[]> {
    const all = await this.redis.hgetall(this.k.workers);
    const records = Object.values(all).map((v) => JSON.parse(v) as WorkerRecord);
    if (records.length === 0) return [];
    const pipe = this.redis.pipeline();
    pipe.zmscore(this.k.seen, ...records.map((r) => r.worker));
    for (const r of records) pipe.hgetall(this.k.perf(r.worker));
    pipe.hgetall(this.k.inflight);
    for (const r of records) pipe.exists(this.k.excluded(r.worker));
    const res = (await pipe.exec()) ?? [];
    const seen = (res[0]?.[1] ?? []) as (string | null)[];
    const freshSince = Date.now() - this.heartbeatTtlMs;
    const inflight = (res[records.length + 1]?.[1] ?? {}) as Record<string, string>;
    const stakes = await Promise.all(records.map((r) => this.stake.read(r.worker)));
    return records.map((r, i) => {
      const perf = (res[1 + i]?.[1] ?? {}) as Record<string, string>;
      return {
        worker: r.worker,
        pricePerPixel: BigInt(r.pricePerPixel),
        stake: stakes[i]!.stake,
        jailed: stakes[i]!.jailed,
        ...(stakes[i]!.unavailable ? { stakeUnavailable: true } : {}),
        heartbeatFresh: seen[i] != null && Number(seen[i]) > freshSince,
        freshUntil: seen[i] != null ? Number(seen[i]) + this.heartbeatTtlMs : 0,
        excluded: res[records.length + 2 + i]?.[1] === 1,
        capabilities: r.capabilities,
        inflight: Number(inflight[r.worker] ?? 0),
        perf: { latencyRatio: Number(perf.latency ?? 0.5), successRate: Number(perf.success ?? 1) },
        registeredAt: r.registeredAt,
        counts: { jobs: Number(perf.jobs ?? 0), failures: Number(perf.failures ?? 0), faults: Number(perf.faults ?? 0) },
      };
    });
  }

  /**
   * Claims one of the worker's slots with a deadline (false when full) and, in the same step,
   * stores the job's records for this worker (JSON, kept `records.ttlMs`): its assignment, and the
   * spot-check mark when it is a check.
   */
  claim(worker: string, maxConcurrent: number, deadline: number, jobId: string, records: { assignment: string; check?: string; ttlMs: number }): Promise<boolean> {
    return this.redis
      .segmintClaim(
        this.k.inflight, this.k.deadlines, this.k.tried(jobId), this.k.assignment(jobId, worker), this.k.check(jobId, worker),
        worker, maxConcurrent, deadline, `${jobId}|${worker}`, records.ttlMs, records.assignment, records.check ?? '',
      )
      .then((n) => n === 1);
  }

  /**
   * Ends a claim: frees the slot and scores the worker (success, and latency from dispatch to now
   * relative to the segment duration). Returns the claim's deadline when it ended on time, 'late'
   * when its deadline had passed (slot freed, not scored: the miss was), null when already ended.
   */
  async settle(jobId: string, worker: string, ok: boolean, budgetMs: number, durationMs: number): Promise<number | 'late' | null> {
    const deadline = await this.redis.segmintSettle(
      this.k.inflight, this.k.deadlines, this.k.perf(worker), this.k.late,
      `${jobId}|${worker}`, worker, Date.now(), budgetMs, durationMs, ok ? 1 : 0, ALPHA,
    );
    return deadline > 0 ? deadline : deadline < 0 ? 'late' : null;
  }

  /** Undoes a claim whose job never reached the worker. */
  async unclaim(jobId: string, worker: string): Promise<void> {
    await this.redis.segmintUnclaim(this.k.inflight, this.k.deadlines, this.k.tried(jobId), `${jobId}|${worker}`, worker);
  }

  /**
   * Claims past their deadline, each handed to exactly one caller. Their slots stay taken for
   * `graceMs` more (the worker may still deliver) unless its late result or failure comes first.
   */
  async expired(now: number, graceMs: number, limit = 100): Promise<{ jobId: string; worker: string }[]> {
    const members = await this.redis.segmintExpire(this.k.inflight, this.k.deadlines, this.k.late, this.k.seen, now, limit, graceMs, now - this.heartbeatTtlMs);
    return members.map((m) => {
      const i = m.lastIndexOf('|');
      return { jobId: m.slice(0, i), worker: m.slice(i + 1) };
    });
  }

  /** Whether one of `workers` still holds a claim on the job (on time, or late but alive). */
  async held(jobId: string, workers: Iterable<string>): Promise<boolean> {
    const pipe = this.redis.pipeline();
    for (const w of workers) pipe.zscore(this.k.deadlines, `${jobId}|${w}`).zscore(this.k.late, `${jobId}|${w}`);
    return ((await pipe.exec()) ?? []).some(([, score]) => score !== null);
  }

  tried(jobId: string): Promise<string[]> {
    return this.redis.smembers(this.k.tried(jobId));
  }

  async recordOutcome(worker: string, ok: boolean, latencyRatio?: number): Promise<void> {
    await this.redis.segmintPerf(this.k.perf(worker), ok ? 1 : 0, latencyRatio === undefined ? '' : latencyRatio.toFixed(4), ALPHA);
  }

  /** Keeps a worker out of every auction for `ms` (never shortens an exclusion already longer). */
  async exclude(worker: string, ms: number): Promise<void> {
    const key = this.k.excluded(worker.toLowerCase());
    if ((await this.redis.pttl(key)) < ms) await this.redis.set(key, String(Date.now() + ms), 'PX', ms);
    await this.announce(worker.toLowerCase());
  }

  async isExcluded(worker: string): Promise<boolean> {
    return (await this.redis.exists(this.k.excluded(worker.toLowerCase()))) === 1;
  }

  /** A spot-check proved this worker's output wrong. */
  async recordFault(worker: string): Promise<void> {
    await this.redis.hincrby(this.k.perf(worker.toLowerCase()), 'faults', 1);
  }

  async perf(worker: string): Promise<{ latencyRatio: number; successRate: number; jobs: number; failures: number; faults: number }> {
    const p = await this.redis.hgetall(this.k.perf(worker.toLowerCase()));
    return {
      latencyRatio: Number(p.latency ?? 0.5),
      successRate: Number(p.success ?? 1),
      jobs: Number(p.jobs ?? 0),
      failures: Number(p.failures ?? 0),
      faults: Number(p.faults ?? 0),
    };
  }
}
