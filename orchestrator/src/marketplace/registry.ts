import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/redisClient.js';
import type { Capabilities, Registration } from '@segmint/protocol';
import type { Candidate } from './auction.js';
import { marketKeys, type MarketKeys } from './keys.js';
import type { StakeReader } from './stake.js';
import {
  deleteWorkerAclUsers, listWorkerAclUsers, newPassword, setWorkerAclUser, workerAclUser, type WorkerRedisCredentials,
} from './workerAcl.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const SCRIPTS = {
  segmintRegister: { numberOfKeys: 4, lua: lua('register-4.lua') },
  // KEYS: 4 fixed + one perf hash per worker: the key count is passed with each call.
  segmintPrune: { lua: lua('prune-4.lua') },
  segmintClaim: { numberOfKeys: 3, lua: lua('claim-3.lua') },
  segmintSettle: { numberOfKeys: 5, lua: lua('settle-5.lua') },
  segmintUnclaim: { numberOfKeys: 3, lua: lua('unclaim-3.lua') },
  segmintExpire: { numberOfKeys: 4, lua: lua('expire-4.lua') },
  segmintPerf: { numberOfKeys: 2, lua: lua('perf-2.lua') },
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

/** The market's shared state other than registrations, as read in one round trip (see MarketView). */
export type MarketState = {
  /** When it was read (ms, this process's clock). */
  at: number;
  /** Bumped on every registration, forgetting or exclusion: registrations are re-read when it moves. */
  version: string;
  /** address → last registration or heartbeat (ms) */
  seen: Map<string, number>;
  /** address → slots in use */
  inflight: Map<string, number>;
  /** address → EWMAs */
  scores: Map<string, Candidate['perf']>;
  /** addresses kept out of auctions now */
  excluded: Set<string>;
};

/**
 * The marketplace's view of workers, in Redis so every orchestrator sees the same: registrations
 * (replay-protected by nonce), heartbeats (last-seen times), slots in use, deadlines of claims,
 * performance EWMAs. Keys: marketKeys (one Cluster slot). Multi-key changes are Lua scripts.
 */
export class Registry {
  readonly redis: RedisClient & Commands;
  readonly k: MarketKeys;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly stake: StakeReader,
    private readonly heartbeatTtlMs: number,
    private readonly opts: RegistryOptions = {},
  ) {
    for (const [name, def] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, def);
    this.redis = redis as RedisClient & Commands;
    this.k = marketKeys(prefix);
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
    const stored = await this.redis.segmintRegister(this.k.workers, this.k.nonces, this.k.seen, this.k.version, worker, r.nonce, JSON.stringify(record), Date.now());
    if (stored !== 1) return null;
    if (!secret) return { redis: null };
    await setWorkerAclUser(this.redis, this.prefix, worker, secret.hash);
    // Two registrations of one worker at once: the user must end with the newest stored hash.
    const now = await this.record(worker);
    if (now?.aclHash && now.aclHash !== secret.hash) await setWorkerAclUser(this.redis, this.prefix, worker, now.aclHash);
    return { redis: { url: this.opts.workerRedisUrl!, username: workerAclUser(this.prefix, worker), password: secret.password, prefix: this.prefix } };
  }

  /** A registered worker's heartbeat: it is fresh for the heartbeat TTL from now. */
  async heartbeat(worker: string): Promise<boolean> {
    const w = worker.toLowerCase();
    if (!(await this.redis.hexists(this.k.workers, w))) return false;
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
    if (this.opts.workerRedisUrl === undefined) return forgotten;
    const users = new Set(await listWorkerAclUsers(this.redis, this.prefix));
    const records = await this.records();
    const registered = new Set(records.map((r) => workerAclUser(this.prefix, r.worker)));
    await deleteWorkerAclUsers(this.redis, [...users].filter((u) => !registered.has(u)));
    for (const r of records) if (r.aclHash && !users.has(workerAclUser(this.prefix, r.worker))) await setWorkerAclUser(this.redis, this.prefix, r.worker, r.aclHash);
    return forgotten;
  }

  /** Forgets up to 1000 workers not seen since `cutoff` (their keys passed to the script, not built in it). */
  private async prune(cutoff: number): Promise<string[]> {
    const gone = await this.redis.zrangebyscore(this.k.seen, '-inf', cutoff, 'LIMIT', 0, 1000);
    if (gone.length === 0) return [];
    const keys = [this.k.workers, this.k.seen, this.k.scores, this.k.version, ...gone.map((w) => this.k.perf(w))];
    return this.redis.segmintPrune(keys.length, ...keys, cutoff, ...gone);
  }

  async record(worker: string): Promise<WorkerRecord | null> {
    const raw = await this.redis.hget(this.k.workers, worker.toLowerCase());
    return raw ? (JSON.parse(raw) as WorkerRecord) : null;
  }

  /** Every registration (one command: only re-read when the market's version moved). */
  async records(): Promise<WorkerRecord[]> {
    return Object.values(await this.redis.hgetall(this.k.workers)).map((v) => JSON.parse(v) as WorkerRecord);
  }

  /** Heartbeats, slots in use, scores and exclusions of every worker: one round trip, five commands for any n. */
  async state(): Promise<MarketState> {
    const at = Date.now();
    const res = (await this.redis.pipeline()
      .get(this.k.version)
      .zrange(this.k.seen, '0', '-1', 'WITHSCORES')
      .hgetall(this.k.inflight)
      .hgetall(this.k.scores)
      .zrangebyscore(this.k.excluded, `(${at}`, '+inf')
      .exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    const [version, seen, inflight, scores, excluded] = res.map(([, v]) => v) as [string | null, string[], Record<string, string>, Record<string, string>, string[]];
    const pairs = new Map<string, number>();
    for (let i = 0; i < seen.length; i += 2) pairs.set(seen[i]!, Number(seen[i + 1]));
    return {
      at,
      version: version ?? '0',
      seen: pairs,
      inflight: new Map(Object.entries(inflight).map(([w, n]) => [w, Number(n)])),
      scores: new Map(Object.entries(scores).map(([w, v]) => [w, parseScore(v)])),
      excluded: new Set(excluded),
    };
  }

  /** What the auction needs of each registered worker, from its record and the market's state. */
  async candidatesOf(records: readonly WorkerRecord[], state: MarketState): Promise<Candidate[]> {
    const stakes = await Promise.all(records.map((r) => this.stake.read(r.worker)));
    return records.map((r, i) => ({
      worker: r.worker,
      pricePerPixel: BigInt(r.pricePerPixel),
      stake: stakes[i]!.stake,
      jailed: stakes[i]!.jailed,
      ...(stakes[i]!.unavailable ? { stakeUnavailable: true } : {}),
      heartbeatFresh: (state.seen.get(r.worker) ?? 0) > state.at - this.heartbeatTtlMs,
      excluded: state.excluded.has(r.worker),
      capabilities: r.capabilities,
      inflight: state.inflight.get(r.worker) ?? 0,
      perf: state.scores.get(r.worker) ?? { latencyRatio: 0.5, successRate: 1 },
    }));
  }

  /** Every registered worker with what the auction needs (two round trips for any n). */
  async candidates(): Promise<Candidate[]> {
    const [records, state] = await Promise.all([this.records(), this.state()]);
    return this.candidatesOf(records, state);
  }

  /** Every registered worker with its record and counters (API and metrics; three round trips). */
  async views(): Promise<WorkerView[]> {
    const records = await this.records();
    if (records.length === 0) return [];
    const [candidates, counts] = await Promise.all([this.candidatesOf(records, await this.state()), this.counts(records.map((r) => r.worker))]);
    return candidates.map((c, i) => ({ ...c, registeredAt: records[i]!.registeredAt, counts: counts[i]! }));
  }

  private async counts(workers: string[]): Promise<WorkerView['counts'][]> {
    const pipe = this.redis.pipeline();
    for (const w of workers) pipe.hmget(this.k.perf(w), 'jobs', 'failures', 'faults');
    return ((await pipe.exec()) ?? []).map(([, v]) => {
      const [jobs, failures, faults] = (v ?? []) as (string | null)[];
      return { jobs: Number(jobs ?? 0), failures: Number(failures ?? 0), faults: Number(faults ?? 0) };
    });
  }

  claim(worker: string, maxConcurrent: number, deadline: number, jobId: string): Promise<boolean> {
    return this.redis
      .segmintClaim(this.k.inflight, this.k.deadlines, this.k.tried(jobId), worker, maxConcurrent, deadline, `${jobId}|${worker}`)
      .then((n) => n === 1);
  }

  /**
   * Ends a claim: frees the slot and scores the worker (success, and latency from dispatch to now
   * relative to the segment duration). Returns the claim's deadline when it ended on time, 'late'
   * when its deadline had passed (slot freed, not scored: the miss was), null when already ended.
   */
  async settle(jobId: string, worker: string, ok: boolean, budgetMs: number, durationMs: number): Promise<number | 'late' | null> {
    const deadline = await this.redis.segmintSettle(
      this.k.inflight, this.k.deadlines, this.k.perf(worker), this.k.late, this.k.scores,
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
    const members = await this.redis.segmintExpire(this.k.inflight, this.k.deadlines, this.k.late, this.k.seen, now, limit, graceMs, this.heartbeatTtlMs);
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
    const w = worker.toLowerCase();
    await this.redis.segmintPerf(this.k.perf(w), this.k.scores, ok ? 1 : 0, latencyRatio === undefined ? '' : latencyRatio.toFixed(4), ALPHA, w);
  }

  /** Keeps a worker out of every auction for `ms` (never shortens an exclusion already longer). */
  async exclude(worker: string, ms: number): Promise<void> {
    const now = Date.now();
    await this.redis.multi()
      .zadd(this.k.excluded, 'GT', now + ms, worker.toLowerCase())
      .zremrangebyscore(this.k.excluded, '-inf', now)
      .incr(this.k.version)
      .exec();
  }

  async isExcluded(worker: string): Promise<boolean> {
    return Number((await this.redis.zscore(this.k.excluded, worker.toLowerCase())) ?? 0) > Date.now();
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

/** "latency success" as settle-5.lua and perf-2.lua write it. */
function parseScore(v: string): Candidate['perf'] {
  const [latency, success] = v.split(' ');
  return { latencyRatio: Number(latency ?? 0.5), successRate: Number(success ?? 1) };
}
