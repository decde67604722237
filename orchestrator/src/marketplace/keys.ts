/**
 * Redis keys of the marketplace, in one place.
 *
 * The market's global state sits under ONE hash tag, `{mkt}`, so on a Redis Cluster it is one
 * slot: the market's single atomic domain. Claims, settlements, deadline expiry, registration and
 * pruning each touch several of these keys in one Lua script, which a Cluster allows only within a
 * slot. Scripts get every key they touch in KEYS (none is built inside Lua).
 *
 * Records of one job that no script touches (the job, its outcome, assignments, spot-check marks)
 * are plain keys outside the tag, so they spread over the Cluster.
 */
export function marketKeys(prefix: string) {
  const base = `${prefix}:{mkt}`;
  return {
    /** hash: address → registration JSON */
    workers: `${base}:workers`,
    /** hash: address → last registration nonce */
    nonces: `${base}:nonces`,
    /** zset: address → last registration or heartbeat (ms); fresh heartbeat = score within the TTL */
    seen: `${base}:seen`,
    /** hash: address → slots in use */
    inflight: `${base}:inflight`,
    /** zset: "jobId|address" → deadline (ms) */
    deadlines: `${base}:deadlines`,
    /** zset: "jobId|address" → end of the grace period of a claim past its deadline (ms) */
    late: `${base}:late`,
    /** hash: address → "latency success" (the EWMAs the auction ranks by, all workers in one read) */
    scores: `${base}:scores`,
    /** zset: address → kept out of auctions until (ms) */
    excluded: `${base}:excluded`,
    /** counter: bumped on every registration, forgetting or exclusion (orchestrators reload then) */
    version: `${base}:version`,
    /** zset: segments waiting for a free slot, shared by every orchestrator (jobId → since ms) */
    waiting: `${base}:waiting`,
    /** zset: waiting segments an orchestrator took to dispatch (jobId → end of its lease ms) */
    taking: `${base}:taking`,
    /** hash: jobId → "since" (ms it began waiting) or "since|entry" (what dispatching it needs), while it waits or is taken */
    waitingSince: `${base}:waiting-since`,
    /** hash of one worker: latency, success, jobs, failures, faults */
    perf: (worker: string) => `${base}:perf:${worker}`,
    /** set of the workers tried for a job */
    tried: (jobId: string) => `${base}:tried:${jobId}`,
    /** zset of one worker's sampled results whose check is open (jobId → started ms) */
    checksPending: (worker: string) => `${base}:checks-pending:${worker.toLowerCase()}`,
  };
}

export type MarketKeys = ReturnType<typeof marketKeys>;
