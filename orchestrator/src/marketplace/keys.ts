/**
 * Redis keys of the marketplace (registry, claims, dispatcher records). All share the hash tag
 * `{mkt}`, so every Lua script and MULTI over them runs in one Redis Cluster slot; a worker's
 * BullMQ queue and its payment keys carry tags of their own (`{transcode-ADDR}`, `{w:ADDR}`).
 */
export function marketKeys(prefix: string) {
  const base = `${prefix}:{mkt}`;
  return {
    /** hash: address → registration JSON */
    workers: `${base}:workers`,
    /** hash: address → last registration nonce */
    nonces: `${base}:nonces`,
    /** zset: address → last registration or heartbeat (ms); fresh within the heartbeat TTL */
    seen: `${base}:seen`,
    /** hash: address → slots in use */
    inflight: `${base}:inflight`,
    /** zset: "jobId|address" → deadline (ms) */
    deadlines: `${base}:deadlines`,
    /** zset: "jobId|address" → end of the late grace (ms) */
    late: `${base}:late`,
    /** Pub/Sub channel: a worker registered, was excluded or forgotten (message: its address) */
    changes: `${base}:changes`,
    perf: (w: string) => `${base}:perf:${w}`,
    excluded: (w: string) => `${base}:excluded:${w}`,
    tried: (jobId: string) => `${base}:tried:${jobId}`,
    job: (jobId: string) => `${base}:job:${jobId}`,
    done: (jobId: string) => `${base}:done:${jobId}`,
    check: (jobId: string, worker: string) => `${base}:check:${jobId}|${worker}`,
    assignment: (jobId: string, worker: string) => `${base}:assign:${jobId}|${worker.toLowerCase()}`,
    /** hash: jobId → the orchestrator instance that has it waiting for a slot */
    waiting: `${base}:waiting`,
    alive: (instance: string) => `${base}:alive:${instance}`,
    recovering: (jobId: string) => `${base}:recover:${jobId}`,
  };
}

export type MarketKeys = ReturnType<typeof marketKeys>;
