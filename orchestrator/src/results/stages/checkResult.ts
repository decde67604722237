import type { SegmentFacts } from '@segmint/media';
import { ApiError, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import type { Hex } from 'viem';
import { verifyCommitment } from '../../audit/commitments.js';
import type { Assignment } from '../../dispatch/dispatcher.js';
import { storageKeys } from '../../ingest/jobIds.js';
import type { Pipeline } from '../../pipeline.js';
import { checkUploads } from '../uploads.js';

/** A result that passed every check: what it won the job with, its commitment, its bytes' facts. */
export type CheckedResult = {
  assignment: Assignment;
  /** Merkle proof of each committed leaf (renditions, their audio, the fingerprint) by name. */
  proofs: Record<string, Hex[]>;
  facts: Map<string, SegmentFacts | null>;
};

/**
 * Stage 1 of a result: is it this worker's to give, and is it what it says? The worker must have
 * been handed the job (server-side assignment), name the fingerprint it won it with, not be
 * excluded, stand behind a signed commitment to every hash (video, audio, fingerprint), and its
 * uploaded bytes must pass the checks against the source. Any refusal deletes its uploads.
 */
export async function checkResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<CheckedResult> {
  try {
    const assignment = await p.dispatcher.assignment(job.jobId, worker);
    if (!assignment) throw new ApiError('JOB_NOT_ASSIGNED', `worker ${worker} was not handed job ${job.jobId}`);
    if (result.encoderFingerprint !== assignment.fingerprint) {
      // A fingerprint nobody shares would dodge the peer check: the registered one is binding.
      throw new ApiError('FINGERPRINT_MISMATCH', `result names fingerprint "${result.encoderFingerprint}", registered "${assignment.fingerprint}"`);
    }
    if (await p.dispatcher.isExcluded(worker)) {
      throw new ApiError('CHECK_FAILED', `worker ${worker} is excluded (it failed a spot-check): the segment goes to another worker`);
    }
    const tree = await verifyCommitment(job.jobId, worker, result, p.audit.domain);
    const facts = await checkUploads(p, job, worker, result);
    const proofs: Record<string, Hex[]> = {};
    for (const [i, [, name]] of tree.entries()) proofs[name] = tree.getProof(i) as Hex[];
    return { assignment, proofs, facts };
  } catch (err) {
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
    throw err;
  }
}

/** Refusals that mean the worker failed the job (it is re-auctioned), not that the request was bad. */
export const isRefusal = (err: unknown): boolean =>
  err instanceof ApiError && ['CHECK_FAILED', 'COMMITMENT_INVALID', 'FINGERPRINT_MISMATCH'].includes(err.code);
