import { randomInt } from 'node:crypto';
import type { Hex } from 'viem';
import { seededJobDraw, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import type { AuditRecord } from '../audit/auditStore.js';
import type { SpotCheck } from '../dispatch/dispatcher.js';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { convict, differingLeaves, leafHash } from './convict.js';
import { republish } from './republish.js';
import { startCheck } from './startCheck.js';

/**
 * Whether to spot-check a segment just accepted. Decided with the orchestrator's own randomness
 * AFTER the worker's commitment arrived, so the worker cannot know beforehand which of its
 * segments will be re-transcoded. `testSeed` (SEGMINT_TEST_SPOTCHECK_SEED, tests only) makes the
 * draw a function of (seed, jobId), so a seeded run can be predicted and repeated.
 */
export function sampled(rate: number, jobId?: string, testSeed?: string): boolean {
  if (rate <= 0) return false;
  if (testSeed && jobId) return seededJobDraw(testSeed, jobId) < rate;
  return randomInt(1_000_000) < Math.round(rate * 1_000_000);
}

/**
 * Compares a verifier's checked result (see results/stages/checkResult.ts) with the published
 * one, leaf by leaf (each rendition's video and audio hash), and records the outcome. Nothing is
 * published. A mismatch alone does not say who is wrong, so a third worker with the same
 * fingerprint breaks the tie: the odd one out is proven wrong (see convict.ts).
 */
export async function compareSpotCheck(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult, check: SpotCheck): Promise<void> {
  const { session } = parseJobId(job.jobId)!;
  try {
    await compare(p, job, worker, result, check, session);
  } finally {
    // A tie-breaker's uploads may have replaced a caught segment's files by now; the rest go.
    await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  }
}

async function compare(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult, check: SpotCheck, session: number): Promise<void> {
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  if (!audit) {
    p.metrics.spotChecks.inc({ outcome: 'no-record' });
    return;
  }
  const record = async (spotCheck: NonNullable<AuditRecord['spotCheck']>, concluded = true) => {
    p.metrics.spotChecks.inc({ outcome: spotCheck.outcome });
    await p.audit.store.put({ ...(await p.audit.store.get(job.streamId, session, job.seq))!, spotCheck });
    if (concluded) await p.checks.pending.done(check.checked, job.jobId);
  };
  const mine = (faultyIsPublished: boolean) => (faultyIsPublished ? pendingFiles(job, worker) : undefined);
  const mismatched = differingLeaves(audit.renditions, result.renditions);

  if (check.redo) {
    // The publisher cheated elsewhere: this unchecked segment of its is replaced if it differs.
    const base = { verifier: worker, verifierTranscodeMs: result.transcodeMs, mismatched, redo: true };
    if (mismatched.length === 0) return record({ outcome: 'agree', ...base });
    return record({ outcome: 'redone', ...base, replaced: await republish(p, job, session, pendingFiles(job, worker)) });
  }
  if (!check.tieBreakOf) {
    if (mismatched.length === 0) return record({ outcome: 'agree', verifier: worker, verifierTranscodeMs: result.transcodeMs, mismatched });
    p.logger.warn({ jobId: job.jobId, checked: check.checked, verifier: worker, mismatched }, 'spot-check mismatch; asking a third worker');
    const first = { verifier: worker, verifierTranscodeMs: result.transcodeMs, mismatched, verifierRenditions: result.renditions, verifierCommitment: result.commitment as { root: Hex; signature: Hex } };
    await record({ outcome: 'mismatch', ...first }, false);
    const sent = await p.dispatcher.enqueueCheck(job, { ...check, tieBreakOf: worker }, { wait: false });
    // No third worker free: the orchestrator decides (its reference build, or quality).
    if (sent === 'none') await startCheck(p, { ...audit, job }, { peer: false });
    return;
  }

  // Tie-break: the third worker's hashes side with the published result or with the first verifier.
  const first = audit.spotCheck?.verifierRenditions ?? [];
  const withPublished = mismatched.length === 0;
  const withVerifier = first.length > 0 && differingLeaves(first, result.renditions).length === 0;
  const faulty = withVerifier && !withPublished ? check.checked : withPublished && !withVerifier ? check.tieBreakOf : null;
  const base = { ...audit.spotCheck, verifier: check.tieBreakOf, tieBreaker: worker, tieBreakTranscodeMs: result.transcodeMs, mismatched: audit.spotCheck?.mismatched ?? [], verifierRenditions: first };
  if (!faulty) return record({ ...base, outcome: 'unresolved' });
  const published = faulty === check.checked;
  const theirs = published ? { renditions: audit.renditions, signature: audit.commitment.signature } : { renditions: first, signature: audit.spotCheck!.verifierCommitment!.signature };
  const leaf = base.mismatched[0]!;
  const proven = await convict(
    p,
    {
      job,
      session,
      faulty,
      how: 'hash',
      replacement: mine(published),
      evidence: { ...theirs, fingerprint: check.fingerprint, leaf, correctSha256: leafHash(result.renditions, leaf)! },
    },
    (f, except) => redoUnchecked(p, f, except),
  );
  await record({ ...base, outcome: published ? 'caught' : 'verifier-faulty', faulty, ...proven });
}

/** A verifier's uploads for a job, by rendition. */
const pendingFiles = (job: SegmentJob, worker: string) => Object.fromEntries(job.profiles.map((x) => [x.name, storageKeys.pending(job.jobId, worker, x.name)]));

/** Most segments of a proven cheater redone at once (the latest first: what viewers still get). */
const REDO_LIMIT = 500;

/**
 * Sends every unchecked segment `faulty` published that is still served to another worker with
 * the same fingerprint; a result that differs replaces it (outcome `redone`). Idempotent: a
 * segment marked for a redo is no longer unchecked.
 */
export async function redoUnchecked(p: Pipeline, faulty: string, exceptJobId: string): Promise<number> {
  const records = await p.audit.store.uncheckedBy(faulty, REDO_LIMIT);
  let sent = 0;
  for (const r of records) {
    const job = r.job;
    if (!job || r.jobId === exceptJobId) continue;
    // no longer served: nothing to put right
    if ((await p.storage.size(storageKeys.rendition(r.streamId, job.profiles[0]!.name, r.session, r.seq, r.rev))) === null) continue;
    await redo(p, { ...r, job }, faulty);
    sent++;
  }
  if (records.length > 0) p.logger.warn({ faulty, unchecked: records.length, sent }, 'redoing the unchecked segments of a worker proven to cheat');
  return sent;
}

/**
 * Sends one published segment of a proven cheater to another worker, or, when no worker with its
 * fingerprint is free, to the orchestrator's own check (which replaces it when it fails): a
 * cheater's segment is never left unchecked for want of a peer.
 */
export async function redo(p: Pipeline, r: AuditRecord & { job: SegmentJob }, faulty: string): Promise<void> {
  await p.audit.store.put({ ...r, spotCheck: { outcome: 'pending', redo: true } });
  const how = await p.dispatcher.enqueueCheck(r.job, { checked: faulty, fingerprint: r.encoderFingerprint, redo: true });
  if (how === 'none') await startCheck(p, r, { peer: false });
}

/**
 * A queued peer check (a redo, or a tie-break that was waiting) nobody could take in time: the
 * orchestrator checks it itself, so a sampled segment is always checked.
 */
export async function noVerifier(p: Pipeline, job: SegmentJob): Promise<void> {
  const { session } = parseJobId(job.jobId)!;
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  if (!audit) return;
  if (audit.spotCheck?.redo) p.metrics.spotChecks.inc({ outcome: 'no-verifier' });
  await startCheck(p, { ...audit, job }, { peer: false });
}
