import { isMpegTs, segmentFacts, type SegmentFacts } from '@segmint/media';
import { ApiError, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import { storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { checkRendition } from './checks.js';

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

/**
 * Checks every rendition a worker uploaded against the job (see checks.ts) and returns their facts;
 * refuses with CHECK_FAILED (uploads deleted) when one fails.
 */
export async function checkUploads(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<Map<string, SegmentFacts | null>> {
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
    p.logger.warn({ jobId: job.jobId, worker, failures }, 'result failed checks');
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
    throw new ApiError('CHECK_FAILED', failures.map((f) => `${f.rendition}: ${f.message}`).join('; '));
  }
  return facts;
}
