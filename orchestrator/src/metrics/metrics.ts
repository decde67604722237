import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Label values known in advance start at 0 (Prometheus' advice: a series that appears only at its
 * first event breaks `rate()` and alerts on "more than before"). deploy/grafana and
 * deploy/prometheus name these series; a test checks each one is on /metrics.
 */
const KNOWN_LABELS = {
  auctions: ['won', 'reauctioned', 'waiting', 'gave-up', 'recovered'],
  skipped: ['attempts-exhausted', 'no-worker', 'stuck', 'storage'],
  spotChecks: ['agree', 'mismatch', 'caught', 'verifier-faulty', 'unresolved', 'redone', 'no-verifier', 'verifier-failed', 'no-record', 'quality-pass', 'quality-fail', 'quality-inconclusive'],
  slashes: ['sent', 'failed'],
  ingestSources: ['rtmp', 'http'],
  // CheckFailure['reason'] (results/checks.ts)
  checkReasons: ['missing', 'codec', 'resolution', 'frames', 'duration', 'hash', 'streams', 'audio'],
  // the ApiError codes a segment push is refused with (api/routes/livePush.ts, ingest/segmentIngest.ts)
  rejectCodes: ['INVALID_SEGMENT', 'SEGMENT_CONFLICT', 'SEGMENT_TOO_LATE', 'BAD_SEQUENCE', 'STREAM_NOT_FOUND', 'STREAM_SUSPENDED', 'PAYLOAD_TOO_LARGE'],
} as const;

/** The orchestrator's Prometheus metrics (own registry, so several orchestrators fit in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'segmint_process_' });
  // 4 s: two 2 s segments, the publish-latency alert's threshold.
  const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 10, 30];
  const m = {
    registry,
    segmentsIngested: new Counter({ name: 'segmint_segments_ingested_total', help: 'Source segments accepted for transcoding', labelNames: ['source'], registers: [registry] }),
    ingestBytes: new Counter({ name: 'segmint_ingest_bytes_total', help: 'Bytes of source segments accepted for transcoding (× 8 / s: the ingest bitrate)', labelNames: ['source'], registers: [registry] }),
    segmentsRejected: new Counter({ name: 'segmint_segments_rejected_total', help: 'Pushed segments refused, by error code', labelNames: ['code'], registers: [registry] }),
    jobsQueued: new Counter({ name: 'segmint_jobs_queued_total', help: 'Transcode jobs enqueued', registers: [registry] }),
    segmentsSkipped: new Counter({ name: 'segmint_segments_skipped_total', help: 'Segments skipped (a discontinuity in the playlists) by reason: attempts-exhausted (every worker tried failed it), no-worker (none free within SEGMINT_DISPATCH_WAIT_MS), stuck (a crash left it in flight before its source was stored), storage (the segment store refused the source after retries)', labelNames: ['reason'], registers: [registry] }),
    segmentsRecovered: new Counter({ name: 'segmint_segments_recovered_total', help: 'Segments a crash left in flight with nobody on them, dispatched again by the stuck-seq sweep', registers: [registry] }),
    jobsFailed: new Counter({ name: 'segmint_jobs_failed_total', help: 'Transcode jobs that failed every attempt (segment skipped)', registers: [registry] }),
    transcodeSeconds: new Histogram({ name: 'segmint_segment_transcode_seconds', help: 'ffmpeg time per segment as reported by the worker', buckets: latencyBuckets, registers: [registry] }),
    dispatchSeconds: new Histogram({ name: 'segmint_dispatch_latency_seconds', help: 'Ingest to accepted result, minus transcode time', buckets: latencyBuckets, registers: [registry] }),
    publishSeconds: new Histogram({ name: 'segmint_segment_publish_latency_seconds', help: 'Ingest to published in the playlists', buckets: latencyBuckets, registers: [registry] }),
    segmentsPublished: new Counter({ name: 'segmint_segments_published_total', help: 'Segments published to the playlists', registers: [registry] }),
    checksFailed: new Counter({ name: 'segmint_checks_failed_total', help: 'Transcode results rejected by the orchestrator checks', labelNames: ['reason'], registers: [registry] }),
    auctions: new Counter({ name: 'segmint_auctions_total', help: 'Auction outcomes: won, reauctioned (after a miss or failure), waiting (no free slot), gave-up (segment skipped), recovered (orphaned by a crash, dispatched again)', labelNames: ['outcome'], registers: [registry] }),
    deadlinesMissed: new Counter({ name: 'segmint_deadlines_missed_total', help: 'Segments a worker did not finish by its deadline (re-auctioned)', registers: [registry] }),
    workerFailures: new Counter({ name: 'segmint_worker_failures_total', help: 'Segments a worker reported failed or whose result failed the checks', registers: [registry] }),
    spotChecks: new Counter({ name: 'segmint_spotchecks_total', help: 'Spot-checks by outcome: agree, mismatch, caught, verifier-faulty, unresolved, redone (an unchecked segment of a caught worker replaced), no-verifier (nobody with the same fingerprint free), verifier-failed, no-record; for encoders that are not bit-exact (quality checks against the orchestrator\'s transcode) quality-pass, quality-fail, quality-inconclusive (content too hard to judge)', labelNames: ['outcome'], registers: [registry] }),
    slashes: new Counter({ name: 'segmint_slashes_total', help: 'Slash transactions for workers proven wrong: sent (mined) or failed', labelNames: ['outcome'], registers: [registry] }),
    viewerBytes: new Counter({ name: 'segmint_viewer_bytes_total', help: 'Segment bytes players reported, by source: origin (fetched from an orchestrator) or peer (from another viewer, verified against the signed hash)', labelNames: ['source'], registers: [registry] }),
    peerSegmentsRejected: new Counter({ name: 'segmint_peer_segments_rejected_total', help: 'Segments from peers that players reported dropping: bytes did not match the signed hash', registers: [registry] }),
    trackerAnnounces: new Counter({ name: 'segmint_tracker_announces_total', help: 'P2P tracker announces: accepted, or refused (unknown swarm, P2P off)', labelNames: ['outcome'], registers: [registry] }),
    ticketsSent: new Counter({ name: 'segmint_tickets_sent_total', help: 'Tickets sent to workers for accepted results', registers: [registry] }),
    evSentWei: new Counter({ name: 'segmint_ticket_ev_sent_wei_total', help: 'Expected value of the tickets sent, wei (float: for graphs, not accounting)', registers: [registry] }),
    paymentsUnpaid: new Counter({ name: 'segmint_payments_unpaid_total', help: 'Accepted results paid no tickets because the sender could not cover one (owed amount kept as credit)', registers: [registry] }),
  };
  for (const outcome of KNOWN_LABELS.auctions) m.auctions.inc({ outcome }, 0);
  for (const reason of KNOWN_LABELS.skipped) m.segmentsSkipped.inc({ reason }, 0);
  for (const outcome of KNOWN_LABELS.spotChecks) m.spotChecks.inc({ outcome }, 0);
  for (const outcome of KNOWN_LABELS.slashes) m.slashes.inc({ outcome }, 0);
  for (const reason of KNOWN_LABELS.checkReasons) m.checksFailed.inc({ reason }, 0);
  for (const code of KNOWN_LABELS.rejectCodes) m.segmentsRejected.inc({ code }, 0);
  for (const source of KNOWN_LABELS.ingestSources) {
    m.segmentsIngested.inc({ source }, 0);
    m.ingestBytes.inc({ source }, 0);
  }
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;

/** What the state gauges read: Redis' connection and the worker registry. */
export type StateSources = {
  redis: { status: string };
  workers: () => Promise<{ heartbeatFresh: boolean; excluded?: boolean; inflight: number; capabilities: { maxConcurrent: number } }[]>;
  /** Streams with a live session, deployment-wide (read from Redis). */
  liveStreams?: () => Promise<number>;
};

/**
 * Gauges read at scrape time: whether this orchestrator's Redis connection is up, and the worker
 * fleet (online = heartbeat fresh and not excluded). The fleet is read at most once a second; while
 * Redis is down the last values stay (they cannot be known) and `segmint_redis_up` says so.
 */
export function registerStateMetrics(registry: Registry, s: StateSources): void {
  let fleet = { online: 0, slots: 0, busy: 0 };
  let readAt = 0;
  let reading: Promise<void> | null = null;
  const refresh = async () => {
    if (s.redis.status !== 'ready' || Date.now() - readAt < 1000) return;
    reading ??= s.workers()
      .then((ws) => {
        const online = ws.filter((w) => w.heartbeatFresh && !w.excluded);
        fleet = { online: online.length, slots: online.reduce((n, w) => n + w.capabilities.maxConcurrent, 0), busy: online.reduce((n, w) => n + w.inflight, 0) };
        readAt = Date.now();
      })
      .catch(() => {})
      .finally(() => (reading = null));
    await reading;
  };
  new Gauge({ name: 'segmint_redis_up', help: '1 while this orchestrator\'s Redis connection is ready, else 0', registers: [registry], collect() {
    this.set(s.redis.status === 'ready' ? 1 : 0);
  } });
  let live = 0;
  // The deployment's count (every orchestrator reports the same: take max() across them, not sum()).
  new Gauge({ name: 'segmint_active_streams', help: 'Streams with a live session in the deployment (read from Redis, the same on every orchestrator)', registers: [registry], async collect() {
    if (s.liveStreams && s.redis.status === 'ready') live = await s.liveStreams().catch(() => live);
    this.set(live);
  } });
  new Gauge({ name: 'segmint_workers_online', help: 'Registered workers with a fresh heartbeat, not excluded', registers: [registry], async collect() {
    await refresh();
    this.set(fleet.online);
  } });
  new Gauge({ name: 'segmint_worker_slots', help: 'Segments the online workers can transcode at once (sum of their slots)', registers: [registry], async collect() {
    await refresh();
    this.set(fleet.slots);
  } });
  new Gauge({ name: 'segmint_worker_slots_busy', help: 'Slots of online workers holding a segment now', registers: [registry], async collect() {
    await refresh();
    this.set(fleet.busy);
  } });
}
