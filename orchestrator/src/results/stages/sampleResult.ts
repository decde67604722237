import type { AuditRecord } from '../../audit/auditStore.js';
import type { Pipeline } from '../../pipeline.js';
import { redo, sampled } from '../../verification/spotCheck.js';
import { hashComparable } from '../../verification/fingerprints.js';
import { startCheck, type CheckRoute } from '../../verification/startCheck.js';

/**
 * Stage 4: draws whether a published result is checked (after its commitment is on record, so the
 * worker could not know) and starts the check (verification/startCheck.ts). Results whose bytes
 * cannot be compared bit for bit are sampled at the quality rate, higher: their check is weaker;
 * all of them while their stream's content is too hard for that check to judge (hardContent.ts).
 * Returns the route taken, or null when not sampled.
 */
export async function sampleResult(p: Pipeline, record: AuditRecord & { job: NonNullable<AuditRecord['job']> }): Promise<CheckRoute | null> {
  const rate = hashComparable(record.encoderFingerprint) ? p.config.spotCheckRate : (await p.checks.hardContent.isHard(record.streamId)) ? 1 : p.checks.qualityRate;
  if (!sampled(rate, record.jobId, p.config.testSpotCheckSeed)) {
    // Proven to cheat while this result was on its way (it passed the check just before): the
    // redo of its segments may have run already, so this one is redone on its own.
    if (await p.dispatcher.isExcluded(record.worker)) await redo(p, record, record.worker);
    return null;
  }
  await p.audit.store.put({ ...record, spotCheck: { outcome: 'pending' } });
  return startCheck(p, record);
}
