import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The orchestrator's Prometheus metrics (own registry, so several orchestrators fit in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'segmint_process_' });
  const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30];
  return {
    registry,
    segmentsIngested: new Counter({ name: 'segmint_segments_ingested_total', help: 'Source segments accepted for transcoding', labelNames: ['source'], registers: [registry] }),
    segmentsRejected: new Counter({ name: 'segmint_segments_rejected_total', help: 'Pushed segments refused, by error code', labelNames: ['code'], registers: [registry] }),
    jobsQueued: new Counter({ name: 'segmint_jobs_queued_total', help: 'Transcode jobs enqueued', registers: [registry] }),
    segmentsSkipped: new Counter({ name: 'segmint_segments_skipped_total', help: 'Segments skipped (a discontinuity in the playlists) by reason: attempts-exhausted (every worker tried failed it), no-worker (none free within SEGMINT_DISPATCH_WAIT_MS), stuck (in flight 2 segment durations past every deadline: a crashed process left it), storage (the segment store refused the source after retries), queue (Redis refused the job)', labelNames: ['reason'], registers: [registry] }),
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
    spotChecks: new Counter({ name: 'segmint_spotchecks_total', help: 'Spot-checks by outcome: agree, mismatch, caught, verifier-faulty, unresolved, redone (an unchecked segment of a caught worker replaced), no-verifier (nobody with the same fingerprint free), verifier-failed, no-record; for non-deterministic encoders ssim-pass, ssim-fail, ssim-busy (skipped: the orchestrator was already running its limit of quality checks), ssim-error', labelNames: ['outcome'], registers: [registry] }),
    slashes: new Counter({ name: 'segmint_slashes_total', help: 'Slash transactions for workers proven wrong: sent (mined) or failed', labelNames: ['outcome'], registers: [registry] }),
    activeStreams: new Gauge({ name: 'segmint_active_streams', help: 'Streams with a live session', registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
