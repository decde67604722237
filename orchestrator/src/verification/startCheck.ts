import type { AuditRecord } from '../audit/auditStore.js';
import type { Pipeline } from '../pipeline.js';
import { hashComparable } from './fingerprints.js';

export type CheckRoute = 'peer' | 'reference' | 'quality';

/**
 * Starts the check of a sampled result; it is always checked, by the first of:
 * 1. a peer: another worker with the same fingerprint and a free slot re-transcodes it (bit-exact
 *    fingerprints only), hashes compared (2 of 3 on a mismatch);
 * 2. the orchestrator itself, when the worker's fingerprint is the orchestrator's own reference
 *    build: its re-transcode must give the same bytes;
 * 3. the orchestrator's quality check against the source, for every other fingerprint.
 * 2 and 3 go through a durable queue; until the check concludes it counts against the worker's
 * open checks, and a worker with too many wins no work.
 */
export async function startCheck(p: Pipeline, record: AuditRecord & { job: NonNullable<AuditRecord['job']> }, opts: { peer?: boolean } = {}): Promise<CheckRoute> {
  const { job, worker, encoderFingerprint: fingerprint } = record;
  await p.checks.pending.add(worker, job.jobId);
  if (opts.peer !== false && hashComparable(fingerprint)) {
    const sent = await p.dispatcher.enqueueCheck(job, { checked: worker, fingerprint }, { wait: false });
    if (sent === 'sent') return 'peer';
  }
  const kind = fingerprint === p.checks.referenceFingerprint ? 'reference' : 'quality';
  await p.checks.own.add({ jobId: job.jobId, streamId: record.streamId, session: record.session, seq: record.seq, worker, kind });
  return kind;
}
