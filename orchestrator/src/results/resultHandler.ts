import type { SegmentFacts } from '@segmint/media';
import { ApiError, SOURCE_RENDITION, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import type { SegmentEntry } from '../live/liveState.js';
import type { Pipeline } from '../pipeline.js';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { Hex } from 'viem';
import type { AuditRecord } from '../audit/auditStore.js';
import { verifyCommitment } from '../audit/commitments.js';
import { checkSpotCheckResult, noVerifier, redo, sampled } from '../verification/spotCheck.js';
import { hashComparable, ssimSpotCheck } from '../verification/ssimCheck.js';
import { checkUploads } from './uploads.js';

/** Resolves a job id to its job, or answers 404 (unknown or finished long ago). */
export async function jobOrThrow(p: Pipeline, jobId: string): Promise<SegmentJob> {
  const job = parseJobId(jobId) ? await p.dispatcher.get(jobId) : null;
  if (!job) throw new ApiError('NOT_FOUND', `no transcode job ${jobId}`);
  return job;
}

export { acceptUpload } from './uploads.js';

export type HandleResultReturnType = { status: 'accepted' | 'duplicate'; published: number };

/**
 * Checks a worker's result against the source and, when every rendition passes, publishes it in
 * seq order. The first valid result for a segment wins; a later one (a slow worker's, after the
 * segment was re-auctioned) is dropped idempotently as a duplicate. A failing result is refused
 * with CHECK_FAILED and the segment goes to another worker. The dispatcher hears of every outcome.
 */
export async function handleResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<HandleResultReturnType> {
  // A spot-check's result is compared with the published one, never published itself.
  const check = await p.dispatcher.checkOf(job.jobId, worker);
  const run = check ? checkSpotCheckResult(p, job, worker, result, check) : checkAndPublish(p, job, worker, result);
  let out = await run.catch(async (err: unknown) => {
    if (err instanceof ApiError && (err.code === 'CHECK_FAILED' || err.code === 'COMMITMENT_INVALID')) await p.dispatcher.settle(job, worker, { outcome: 'failed', reason: err.message });
    throw err;
  });
  // The accepted worker posting again (its answer was lost, e.g. the orchestrator restarted before
  // paying): still 'accepted', so it gets the same tickets; publishing happened once.
  if (out.status === 'duplicate' && (await p.dispatcher.acceptedBy(job.jobId)) === worker) out = { status: 'accepted', published: 0 };
  await p.dispatcher.settle(job, worker, { outcome: out.status });
  if (out.status === 'duplicate') await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  return out;
}

async function checkAndPublish(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<HandleResultReturnType> {
  const log = p.logger.child({ streamId: job.streamId, seq: job.seq, jobId: job.jobId, worker });
  const { session } = parseJobId(job.jobId)!;
  const meta = await p.live.meta(job.streamId);
  if (!meta || meta.session !== session || job.seq < meta.nextSeq) return { status: 'duplicate', published: 0 };
  // A worker excluded meanwhile (proven to cheat, failed a quality check): its result is not taken.
  if (await p.dispatcher.isExcluded(worker)) {
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
    throw new ApiError('CHECK_FAILED', `worker ${worker} is excluded (it failed a spot-check): the segment goes to another worker`);
  }
  // The worker must stand behind what it reports: a signed Merkle commitment to every hash.
  const tree = await verifyCommitment(job.jobId, worker, result, p.audit.domain).catch(async (err: unknown) => {
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
    throw err;
  });

  const facts = await checkUploads(p, job, worker, result);

  // First valid result wins: a slower worker's equally valid one must not overwrite its files.
  if (!(await p.dispatcher.claimResult(job.jobId, worker))) return { status: 'duplicate', published: 0 };
  let published: number;
  try {
    published = await moveAndPublish(p, job, worker, session, result, facts);
  } catch (err) {
    await p.dispatcher.unclaimResult(job.jobId, worker);
    throw err;
  }
  if (published < 0) return { status: 'duplicate', published: 0 };
  const sample = sampled(p.config.spotCheckRate, job.jobId, p.config.testSpotCheckSeed);
  const record: AuditRecord = {
    jobId: job.jobId,
    streamId: job.streamId,
    session,
    seq: job.seq,
    worker,
    encoderFingerprint: result.encoderFingerprint,
    transcodeMs: result.transcodeMs,
    renditions: result.renditions,
    commitment: { ...(result.commitment as { root: Hex; signature: Hex }), chainId: p.audit.domain.chainId, stakingManager: p.audit.domain.stakingManager },
    proofs: Object.fromEntries(result.renditions.map((r, i) => [r.name, tree.getProof(i) as Hex[]])),
    spotCheck: sample ? { outcome: 'pending' } : null,
    publishedAt: Date.now(),
    job,
  };
  try {
    await p.audit.store.put(record);
    // Sampled after the commitment arrived (the worker could not know), sent to another worker;
    // an encoder that never gives the same bytes twice is checked against the source instead.
    if (!sample && hashComparable(result.encoderFingerprint) && (await p.dispatcher.isExcluded(worker))) {
      // Proven to cheat while this result was on its way (it passed the check above just before):
      // the redo of its segments may have run already, so this one is redone on its own.
      await redo(p, { ...record, job }, worker);
    } else if (sample && !hashComparable(result.encoderFingerprint)) {
      void ssimSpotCheck(p, job, worker).catch((err: unknown) => {
        p.metrics.spotChecks.inc({ outcome: 'ssim-error' });
        log.error({ err }, 'quality (SSIM) spot-check failed to run');
      });
    } else if (sample && (await p.dispatcher.enqueueCheck(job, { checked: worker, fingerprint: result.encoderFingerprint })) === 'none') {
      await noVerifier(p, job);
    }
  } catch (err) {
    log.error({ err }, 'could not store the audit record or start the spot-check');
  }
  const sinceIngest = (Date.now() - job.ingestedAt) / 1000;
  p.metrics.transcodeSeconds.observe(result.transcodeMs / 1000);
  p.metrics.dispatchSeconds.observe(Math.max(0, sinceIngest - result.transcodeMs / 1000));
  log.debug({ published, transcodeMs: result.transcodeMs }, 'result accepted');
  return { status: 'accepted', published };
}

async function moveAndPublish(
  p: Pipeline,
  job: SegmentJob,
  worker: string,
  session: number,
  result: TranscodeResult,
  facts: Map<string, SegmentFacts | null>,
): Promise<number> {
  // Move renditions into place, then publish: a playlist never lists a file that is not there.
  await Promise.all(
    job.profiles.map((x) =>
      p.storage.move(storageKeys.pending(job.jobId, worker, x.name), storageKeys.rendition(job.streamId, x.name, session, job.seq)),
    ),
  );
  await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  const renditions: SegmentEntry['renditions'] = {
    [SOURCE_RENDITION]: {
      bytes: (await p.storage.size(storageKeys.source(job.streamId, session, job.seq))) ?? 0,
      durationSec: job.source.durationSec,
      width: job.source.width,
      height: job.source.height,
      codecs: job.source.videoCodecString,
      fps: job.source.fps,
    },
  };
  for (const x of job.profiles) {
    const f = facts.get(x.name)!;
    const claimed = result.renditions.find((r) => r.name === x.name)!;
    renditions[x.name] = { bytes: claimed.bytes, durationSec: f.durationSec, width: f.width, height: f.height, codecs: f.videoCodecString, fps: f.fps };
  }
  const entry: SegmentEntry = { seq: job.seq, session, durationSec: job.source.durationSec, ingestedAt: job.ingestedAt, renditions };
  return publish(p, job.streamId, job.seq, entry);
}

/**
 * Resolves a seq (entry, or null to skip it), publishes what is now in order, deletes what fell
 * out of retention. Returns how many segments were published, or -1 when the seq was not in flight.
 */
export async function publish(p: Pipeline, streamId: string, seq: number, entry: SegmentEntry | null): Promise<number> {
  const { resolved, published, evicted } = await p.live.resolve(streamId, seq, entry, p.config.hlsWindow + p.config.hlsRetain);
  if (!resolved) return -1;
  const now = Date.now();
  for (const r of published) p.metrics.publishSeconds.observe((now - r.entry.ingestedAt) / 1000);
  p.metrics.segmentsPublished.inc(published.length);
  if (published.length > 0) p.events.emit('published', streamId, published);
  if (evicted.length > 0) {
    const keys = evicted.flatMap((r) =>
      Object.keys(r.entry.renditions).map((name) => storageKeys.rendition(streamId, name, r.entry.session, r.entry.seq)),
    );
    await p.storage.delete(keys);
  }
  return published.length;
}
