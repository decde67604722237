/**
 * Queue and Redis key names, in one place so the orchestrator and workers agree.
 * Everything lives under a prefix (default `segmint`) so test suites and deployments can share
 * one Redis without touching each other's keys.
 */
export const DEFAULT_PREFIX = 'segmint';

/**
 * BullMQ queue a worker takes its jobs from: one per worker, named by its address, so the auction
 * decides who works on what (BullMQ names may not contain ':'). The braces are a Redis Cluster hash
 * tag: BullMQ's scripts touch several keys of a queue, which must share one slot.
 */
export const workerQueueName = (worker: string) => `{transcode-${worker.toLowerCase()}}`;

/** Redis keys of one stream's live state. Hash tag `{id}` keeps them in one Cluster slot for Lua. */
export const liveKeys = (prefix: string, streamId: string) => {
  const base = `${prefix}:live:{${streamId}}`;
  return {
    /**
     * hash: session, nextSeq, maxSeq (highest admitted), mediaIndex, discBase, pendingDiscontinuity,
     * discontinuityAt (the seq an RTMP session continued at after a reconnect), ended, lastIngestAt, startedAt
     */
    meta: `${base}:meta`,
    /** hash: seq → source sha256, for every ingested seq not yet published or skipped */
    inflight: `${base}:inflight`,
    /** hash: seq → accepted entry JSON (or "skip"), waiting for its turn */
    ready: `${base}:ready`,
    /** list: published entries (JSON), oldest first: live window + retention */
    published: `${base}:published`,
    /**
     * list: what follows from the live state and must not be lost (usage, recordings, webhooks),
     * written in the same script as the fact: `{"t":"published","record":…}`, `{"t":"ended",…}`.
     * Drained in order and acknowledged by any orchestrator (orchestrator/src/sessions/sessionOutbox.ts).
     */
    outbox: `${base}:outbox`,
    /**
     * hash: owner (orchestrator instance receiving it over RTMP: the only one whose segments are
     * admitted), leaseUntil, windowUntil (0 while published; else when its reconnect window ends).
     * Expires with the window: present means "published, or inside its reconnect window".
     */
    rtmp: `${base}:rtmp`,
  };
};

/** zset of stream ids with live state, scored by last ingest time (for the idle sweep). */
export const activeStreamsKey = (prefix: string) => `${prefix}:live:active`;

/** zset of stream ids whose session ended with seqs still in flight (the stuck-seq sweep drains them). */
export const drainingStreamsKey = (prefix: string) => `${prefix}:live:draining`;
