import { isMpegTs, segmentFacts, type SegmentFacts } from '@segmint/media';
import { ApiError, SOURCE_RENDITION, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import type { SegmentEntry } from '../live/liveState.js';
import type { Pipeline } from '../pipeline.js';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { Hex } from 'viem';
import { verifyCommitment } from '../audit/commitments.js';
import { checkRendition } from './checks.js';

/** Resolves a job id to its job, or answers 404 (unknown or finished long ago). */
export async function jobOrThrow(p: Pipeline, jobId: string): Promise<SegmentJob> {
  const job = parseJobId(jobId) ? await p.dispatcher.get(jobId) : null;
  if (!job) throw new ApiError('NOT_FOUND', `no transcode job ${jobId}`);
  return job;
}

/**
 * Facts of uploads read while their bytes were in memory, by storage key, so the result check
 * need not read the files back. Only an optimisation: a result handled by another orchestrator
 * (or after this one restarted) reads them from storage instead.
 */
const uploadedFacts = new Map<string, { facts: SegmentFacts | null }>();
const UPLOADED_FACTS_MAX = 10_000;

/** Stores one rendition a worker uploaded for a job until its result is checked. */
export async function acceptUpload(p: Pipeline, job: SegmentJob, worker: string, rendition: string, bytes: Buffer): Promise<void> {
  if (!job.profiles.some((x) => x.name === rendition)) throw new ApiError('NOT_FOUND', `job ${job.jobId} has no rendition ${rendition}`);
  if (!isMpegTs(bytes)) throw new ApiError('INVALID_SEGMENT', 'rendition is not MPEG-TS');
  const key = storageKeys.pending(job.jobId, worker, rendition);
  await p.storage.put(key, bytes);
  if (uploadedFacts.size >= UPLOADED_FACTS_MAX) uploadedFacts.delete(uploadedFacts.keys().next().value!);
  uploadedFacts.set(key, { facts: factsOrNull(bytes) });
}

function factsOrNull(bytes: Buffer | null): SegmentFacts | null {
  try {
    return bytes ? segmentFacts(bytes) : null;
  } catch {
    return null;
  }
}

async function readAll(p: Pipeline, key: string): Promise<Buffer | null> {
  const obj = await p.storage.read(key);
  if (!obj) return null;
  const chunks: Buffer[] = [];
  for await (const c of obj.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export type HandleResultReturnType = { status: 'accepted' | 'duplicate'; published: number };

/**
 * Checks a worker's result against the source and, when every rendition passes, publishes it in
 * seq order. The first valid result for a segment wins; a later one (a slow worker's, after the
 * segment was re-auctioned) is dropped idempotently as a duplicate. A failing result is refused
 * with CHECK_FAILED and the segment goes to another worker. The dispatcher hears of every outcome.
 */
export async function handleResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<HandleResultReturnType> {
  const out = await checkAndPublish(p, job, worker, result).catch(async (err: unknown) => {
    if (err instanceof ApiError && (err.code === 'CHECK_FAILED' || err.code === 'COMMITMENT_INVALID')) await p.dispatcher.settle(job, worker, { outcome: 'failed', reason: err.message });
    throw err;
  });
  await p.dispatcher.settle(job, worker, { outcome: out.status });
  if (out.status === 'duplicate') await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  return out;
}

async function checkAndPublish(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<HandleResultReturnType> {
  const log = p.logger.child({ streamId: job.streamId, seq: job.seq, jobId: job.jobId, worker });
  const { session } = parseJobId(job.jobId)!;
  const meta = await p.live.meta(job.streamId);
  if (!meta || meta.session !== session || job.seq < meta.nextSeq) return { status: 'duplicate', published: 0 };
  // The worker must stand behind what it reports: a signed Merkle commitment to every hash.
  const tree = await verifyCommitment(job.jobId, worker, result, p.audit.domain).catch(async (err: unknown) => {
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
    throw err;
  });

  const facts = new Map<string, SegmentFacts | null>();
  await Promise.all(
    job.profiles.map(async (profile) => {
      const key = storageKeys.pending(job.jobId, worker, profile.name);
      const known = uploadedFacts.get(key);
      uploadedFacts.delete(key);
      facts.set(profile.name, known ? known.facts : factsOrNull(await readAll(p, key)));
    }),
  );
  const failures = job.profiles.flatMap((profile) => {
    const claimed = result.renditions.find((r) => r.name === profile.name);
    if (!claimed) return [{ rendition: profile.name, reason: 'missing' as const, message: 'not in the result' }];
    return checkRendition(profile, job.source, claimed, facts.get(profile.name) ?? null);
  });
  if (failures.length > 0) {
    for (const f of failures) p.metrics.checksFailed.inc({ reason: f.reason });
    log.warn({ failures }, 'result failed checks');
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
    throw new ApiError('CHECK_FAILED', failures.map((f) => `${f.rendition}: ${f.message}`).join('; '));
  }

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
  await p.audit.store
    .put({
      jobId: job.jobId,
      streamId: job.streamId,
      session,
      seq: job.seq,
      worker,
      encoderFingerprint: result.encoderFingerprint,
      renditions: result.renditions,
      commitment: { ...(result.commitment as { root: Hex; signature: Hex }), chainId: p.audit.domain.chainId, stakingManager: p.audit.domain.stakingManager },
      proofs: Object.fromEntries(result.renditions.map((r, i) => [r.name, tree.getProof(i) as Hex[]])),
      spotCheck: null,
      publishedAt: Date.now(),
    })
    .catch((err) => log.error({ err }, 'could not store the audit record'));
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
      bytes: await sizeOf(p, storageKeys.source(job.streamId, session, job.seq)),
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

async function sizeOf(p: Pipeline, key: string): Promise<number> {
  const obj = await p.storage.read(key);
  obj?.stream.destroy();
  return obj?.size ?? 0;
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
