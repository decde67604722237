import { ApiError, type SegmentJob, type TicketBatch, type TranscodeResult } from '@segmint/protocol';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { compareSpotCheck, noVerifier } from '../verification/spotCheck.js';
import { checkResult, isRefusal } from './stages/checkResult.js';
import { commitResult } from './stages/commitResult.js';
import { payResult } from './stages/payResult.js';
import { publishResult } from './stages/publishResult.js';
import { sampleResult } from './stages/sampleResult.js';

export { acceptUpload } from './uploads.js';

/** Resolves a job id to its job, or answers 404 (unknown or finished long ago). */
export async function jobOrThrow(p: Pipeline, jobId: string): Promise<SegmentJob> {
  const job = parseJobId(jobId) ? await p.dispatcher.get(jobId) : null;
  if (!job) throw new ApiError('NOT_FOUND', `no transcode job ${jobId}`);
  return job;
}

export type HandleResultReturnType = { status: 'accepted' | 'duplicate'; published: number; payment?: TicketBatch };

/**
 * A worker's result, in explicit stages, each its own file under stages/:
 *   check (is it this worker's, and what it says) → commit (first valid result wins; evidence on
 *   record) → publish (in seq order) → sample (is it checked, and by whom) → pay (at the price won).
 * A spot-check's result (a verifier's) is checked the same way, then compared, never published.
 * A refused result settles as a failure (the segment goes to another worker); a later valid one
 * is a duplicate, and the accepted worker posting again gets the same tickets, never new ones.
 */
export async function handleResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<HandleResultReturnType> {
  p.payments?.checkParams(worker, result.ticketParams);
  let out: Omit<HandleResultReturnType, 'payment'>;
  const check = await p.dispatcher.checkOf(job.jobId, worker);
  try {
    if (check) {
      await checkResult(p, job, worker, result).catch((err: unknown) => {
        p.metrics.spotChecks.inc({ outcome: 'verifier-failed' });
        throw err;
      });
      await compareSpotCheck(p, job, worker, result, check);
      out = { status: 'accepted', published: 0 };
    } else {
      out = await acceptResult(p, job, worker, result);
    }
  } catch (err) {
    if (isRefusal(err)) {
      await p.dispatcher.settle(job, worker, { outcome: 'failed', reason: (err as Error).message });
      // A verifier's refused result (excluded meanwhile, bad bytes) must not leave the sample
      // unchecked: the orchestrator checks it itself.
      if (check) await noVerifier(p, job).catch((e: unknown) => p.logger.error({ err: e, jobId: job.jobId }, 'could not re-route a spot-check'));
    }
    throw err;
  }
  // The accepted worker posting again (its answer was lost): 'accepted', paid what it was booked.
  const again = out.status === 'duplicate' && (await p.dispatcher.acceptedBy(job.jobId)) === worker;
  await p.dispatcher.settle(job, worker, { outcome: again ? 'accepted' : out.status });
  if (out.status === 'duplicate') await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  const payment = await payResult(p, job, worker, result.ticketParams, again ? 'duplicate' : out.status);
  return { ...(again ? { status: 'accepted', published: 0 } : out), ...(payment ? { payment } : {}) };
}

/** check → commit → publish → sample, for a result that may be published. */
async function acceptResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult): Promise<Omit<HandleResultReturnType, 'payment'>> {
  const duplicate = { status: 'duplicate' as const, published: 0 };
  const { session } = parseJobId(job.jobId)!;
  const meta = await p.live.meta(job.streamId);
  if (!meta || meta.session !== session || job.seq < meta.nextSeq) return duplicate;
  const checked = await checkResult(p, job, worker, result);
  const record = await commitResult(p, job, worker, result, checked);
  if (!record) return duplicate;
  let published: number;
  try {
    published = await publishResult(p, job, worker, session, result, checked.facts);
  } catch (err) {
    await p.dispatcher.unclaimResult(job.jobId, worker);
    throw err;
  }
  if (published < 0) return duplicate;
  await sampleResult(p, { ...record, job }).catch((err: unknown) => p.logger.error({ err, jobId: job.jobId }, 'could not start the check of a sampled result'));
  const sinceIngest = (Date.now() - job.ingestedAt) / 1000;
  p.metrics.transcodeSeconds.observe(result.transcodeMs / 1000);
  p.metrics.dispatchSeconds.observe(Math.max(0, sinceIngest - result.transcodeMs / 1000));
  return { status: 'accepted', published };
}
