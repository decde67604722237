import { randomInt } from 'node:crypto';
import type { SegmentJob, TranscodeResult } from '@segmint/protocol';
import { verifyCommitment } from '../audit/commitments.js';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { checkUploads } from '../results/uploads.js';

/**
 * Whether to spot-check a segment just accepted. Decided with the orchestrator's own randomness
 * AFTER the worker's commitment arrived, so the worker cannot know beforehand which of its
 * segments will be re-transcoded.
 */
export function sampled(rate: number): boolean {
  return rate > 0 && randomInt(1_000_000) < Math.round(rate * 1_000_000);
}

/**
 * Checks a verifier's result like any other (commitment, uploads), then compares its hashes with
 * the published result's, rendition by rendition, and records the outcome in the audit trail and
 * metrics. Nothing is published. A mismatch alone does not say who is wrong (a tie-break by a third
 * worker does: next step), so it is recorded and logged, and nobody is penalised yet.
 */
export async function checkSpotCheckResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult, check: { checked: string }) {
  const { session } = parseJobId(job.jobId)!;
  try {
    await verifyCommitment(job.jobId, worker, result, p.audit.domain);
    await checkUploads(p, job, worker, result);
  } catch (err) {
    p.metrics.spotChecks.inc({ outcome: 'verifier-failed' });
    throw err;
  } finally {
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  }
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  if (!audit) {
    p.metrics.spotChecks.inc({ outcome: 'no-record' });
    return { status: 'accepted' as const, published: 0 };
  }
  const mismatched = audit.renditions
    .filter((r) => result.renditions.find((x) => x.name === r.name)?.sha256 !== r.sha256)
    .map((r) => r.name);
  const outcome = mismatched.length === 0 ? 'agree' : 'mismatch';
  p.metrics.spotChecks.inc({ outcome });
  await p.audit.store.put({ ...audit, spotCheck: { outcome, verifier: worker, mismatched } });
  const log = p.logger.child({ jobId: job.jobId, checked: check.checked, verifier: worker });
  if (outcome === 'mismatch') log.warn({ mismatched }, 'spot-check mismatch');
  else log.debug('spot-check agrees');
  return { status: 'accepted' as const, published: 0 };
}

/** A sampled segment nobody could re-transcode (no other worker with the same fingerprint). */
export async function noVerifier(p: Pipeline, job: SegmentJob): Promise<void> {
  p.metrics.spotChecks.inc({ outcome: 'no-verifier' });
  const { session } = parseJobId(job.jobId)!;
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  if (audit) await p.audit.store.put({ ...audit, spotCheck: { outcome: 'no-verifier' } });
}
