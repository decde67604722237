import type { SegmentJob, TranscodeResult } from '@segmint/protocol';
import type { Hex } from 'viem';
import type { AuditRecord } from '../../audit/auditStore.js';
import { parseJobId } from '../../ingest/jobIds.js';
import type { Pipeline } from '../../pipeline.js';
import type { CheckedResult } from './checkResult.js';

/**
 * Stage 2: the first valid result of a job wins (atomically: another orchestrator, or a slower
 * worker's equally valid result, may race), and what the winner committed to goes to the audit
 * trail before anything is published, so every published segment has its evidence on record.
 * Returns the record, or null when another result came first. The winner posting again (a crash
 * cut the first post short, between this claim and the publish) goes on: every later stage is
 * idempotent.
 */
export async function commitResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult, checked: CheckedResult): Promise<AuditRecord | null> {
  if (!(await p.dispatcher.claimResult(job.jobId, worker)) && (await p.dispatcher.acceptedBy(job.jobId)) !== worker) return null;
  const { session } = parseJobId(job.jobId)!;
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
    proofs: checked.proofs,
    spotCheck: null,
    publishedAt: Date.now(),
    job,
  };
  try {
    await p.audit.store.put(record);
  } catch (err) {
    await p.dispatcher.unclaimResult(job.jobId, worker);
    throw err;
  }
  return record;
}
