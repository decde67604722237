import { randomInt } from 'node:crypto';
import type { Hex } from 'viem';
import { buildCommitmentTree, seededJobDraw, slashEvidence, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import { verifyCommitment } from '../audit/commitments.js';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { AuditRecord } from '../audit/auditStore.js';
import type { SpotCheck } from '../dispatch/dispatcher.js';
import type { Pipeline } from '../pipeline.js';
import { checkUploads } from '../results/uploads.js';

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

/** Renditions whose hashes differ between two results. */
const differing = (a: { name: string; sha256: string }[], b: { name: string; sha256: string }[]) =>
  a.filter((r) => b.find((x) => x.name === r.name)?.sha256 !== r.sha256).map((r) => r.name);

/**
 * Checks a verifier's result like any other (commitment, uploads), then compares its hashes with
 * the published result's, rendition by rendition, and records the outcome in the audit trail and
 * metrics. Nothing is published. A mismatch alone does not say who is wrong, so a third worker
 * with the same fingerprint breaks the tie: the odd one out is faulty (its score falls and the
 * fault is counted; on-chain slashing with the audit evidence is the next step).
 */
export async function checkSpotCheckResult(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult, check: SpotCheck) {
  const { session } = parseJobId(job.jobId)!;
  const pending = storageKeys.pendingDir(job.jobId, worker);
  try {
    await verifyCommitment(job.jobId, worker, result, p.audit.domain);
    await checkUploads(p, job, worker, result);
  } catch (err) {
    p.metrics.spotChecks.inc({ outcome: 'verifier-failed' });
    await p.storage.deletePrefix(pending);
    throw err;
  }
  try {
    return await compare(p, job, worker, result, check, session);
  } finally {
    // A tie-breaker's uploads may have replaced a caught segment's files by now; the rest go.
    await p.storage.deletePrefix(pending);
  }
}

async function compare(p: Pipeline, job: SegmentJob, worker: string, result: TranscodeResult, check: SpotCheck, session: number) {
  const done = { status: 'accepted' as const, published: 0 };
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  if (!audit) {
    p.metrics.spotChecks.inc({ outcome: 'no-record' });
    return done;
  }
  const log = p.logger.child({ jobId: job.jobId, checked: check.checked, verifier: worker });
  const record = (spotCheck: NonNullable<AuditRecord['spotCheck']>) => p.audit.store.put({ ...audit, spotCheck });

  if (check.redo) {
    // The publisher cheated elsewhere: this unchecked segment of its is replaced if it differs.
    const mismatched = differing(audit.renditions, result.renditions);
    const base = { verifier: worker, verifierTranscodeMs: result.transcodeMs, mismatched, redo: true };
    if (mismatched.length === 0) {
      p.metrics.spotChecks.inc({ outcome: 'agree' });
      await record({ outcome: 'agree', ...base });
    } else {
      p.metrics.spotChecks.inc({ outcome: 'redone' });
      await record({ outcome: 'redone', ...base, replaced: await replacePublished(p, job, worker, session) });
    }
    return done;
  }

  if (!check.tieBreakOf) {
    const mismatched = differing(audit.renditions, result.renditions);
    if (mismatched.length === 0) {
      p.metrics.spotChecks.inc({ outcome: 'agree' });
      await record({ outcome: 'agree', verifier: worker, verifierTranscodeMs: result.transcodeMs, mismatched });
      return done;
    }
    p.metrics.spotChecks.inc({ outcome: 'mismatch' });
    log.warn({ mismatched }, 'spot-check mismatch; asking a third worker');
    const first = { verifier: worker, verifierTranscodeMs: result.transcodeMs, mismatched, verifierRenditions: result.renditions, verifierCommitment: result.commitment as { root: Hex; signature: Hex } };
    await record({ outcome: 'mismatch', ...first });
    const sent = await p.dispatcher.enqueueCheck(job, { ...check, tieBreakOf: worker });
    if (sent === 'none') await record({ outcome: 'unresolved', ...first });
    return done;
  }

  // Tie-break: the third worker's hashes side with the published result or with the first verifier.
  const first = audit.spotCheck?.verifierRenditions ?? [];
  const withPublished = differing(audit.renditions, result.renditions).length === 0;
  const withVerifier = first.length > 0 && differing(first, result.renditions).length === 0;
  const faulty = withVerifier && !withPublished ? check.checked : withPublished && !withVerifier ? check.tieBreakOf : null;
  const base = { ...audit.spotCheck, verifier: check.tieBreakOf, tieBreaker: worker, tieBreakTranscodeMs: result.transcodeMs, mismatched: audit.spotCheck?.mismatched ?? [], verifierRenditions: first };
  if (!faulty) {
    p.metrics.spotChecks.inc({ outcome: 'unresolved' });
    await record({ outcome: 'unresolved', ...base });
    return done;
  }
  const outcome = faulty === check.checked ? 'caught' : 'verifier-faulty';
  p.metrics.spotChecks.inc({ outcome });
  // Out of every auction for a long while (on-chain jailing, when there is a chain, says the same),
  // its in-flight results refused.
  await p.dispatcher.penalize(faulty, { excludeForMs: p.config.cheaterExcludeMs });
  // Whatever else it published and nobody checked is suspect now: it is all done again.
  void redoUnchecked(p, faulty, job.jobId).catch((err: Error) => log.error({ err }, 'could not start redoing the faulty worker\'s segments'));
  // Paid nothing for it: tickets cannot be recalled, so its credit drops by what the job was worth.
  if (await p.payments?.clawBack(job.jobId, faulty).catch((err: Error) => log.error({ err }, 'claw-back failed'))) base.clawedBack = true;
  await record({ ...base, outcome, faulty });
  log.warn({ faulty }, faulty === check.checked ? 'spot-check: published result proven wrong' : 'spot-check: the first verifier was wrong');
  if (faulty === check.checked) {
    // Viewers get the output two workers agree on: the tie-breaker's files replace the published
    // ones in place (same names, so the playlists need no change), unless retention removed them.
    const replaced = await replacePublished(p, job, worker, session);
    base.replaced = replaced;
    await record({ ...base, outcome, faulty });
  }
  if (p.audit.slasher) {
    // The faulty worker's own signed commitment, the disputed leaf and the hash two workers agree on.
    const theirs = faulty === check.checked ? { renditions: audit.renditions, signature: audit.commitment.signature } : { renditions: first, signature: audit.spotCheck!.verifierCommitment!.signature };
    const rendition = base.mismatched[0]!;
    const evidence = slashEvidence({
      tree: buildCommitmentTree(job.jobId, theirs.renditions),
      signature: theirs.signature,
      rendition,
      correctSha256: result.renditions.find((r) => r.name === rendition)!.sha256,
    });
    const slash = await p.audit.slasher.slash(faulty, evidence).then(
      ({ tx, blockNumber }) => ({ tx, blockNumber: blockNumber.toString() }),
      (err: Error) => ({ error: err.message.split('\n')[0]! }),
    );
    p.metrics.slashes.inc({ outcome: 'tx' in slash ? 'sent' : 'failed' });
    if ('error' in slash) log.error({ faulty, error: slash.error }, 'slash failed');
    else log.warn({ faulty, tx: slash.tx }, 'worker slashed on-chain');
    await record({ ...base, outcome, faulty, slash });
  }
  return done;
}

async function replacePublished(p: Pipeline, job: SegmentJob, worker: string, session: number): Promise<boolean> {
  const targets = job.profiles.map((x) => ({ from: storageKeys.pending(job.jobId, worker, x.name), to: storageKeys.rendition(job.streamId, x.name, session, job.seq) }));
  for (const t of targets) if ((await p.storage.size(t.to)) === null) return false;
  await Promise.all(targets.map((t) => p.storage.move(t.from, t.to)));
  return true;
}

/** Most segments of a proven cheater redone at once (the latest first: what viewers still get). */
const REDO_LIMIT = 500;

/**
 * Sends every unchecked segment `faulty` published that is still served to another worker with
 * the same fingerprint; a result that differs replaces it (outcome `redone`). Idempotent: a
 * segment marked for a redo is no longer unchecked.
 */
async function redoUnchecked(p: Pipeline, faulty: string, exceptJobId: string): Promise<number> {
  const records = await p.audit.store.uncheckedBy(faulty, REDO_LIMIT);
  let sent = 0;
  for (const r of records) {
    const job = r.job;
    if (!job || r.jobId === exceptJobId) continue;
    // no longer served: nothing to put right
    if ((await p.storage.size(storageKeys.rendition(r.streamId, job.profiles[0]!.name, r.session, r.seq))) === null) continue;
    if (await redo(p, { ...r, job }, faulty)) sent++;
  }
  if (records.length > 0) p.logger.warn({ faulty, unchecked: records.length, sent }, 'redoing the unchecked segments of a worker proven to cheat');
  return sent;
}

/** Sends one published segment of a proven cheater to another worker; false when nobody can take it. */
export async function redo(p: Pipeline, r: AuditRecord & { job: SegmentJob }, faulty: string): Promise<boolean> {
  await p.audit.store.put({ ...r, spotCheck: { outcome: 'pending', redo: true } });
  const how = await p.dispatcher.enqueueCheck(r.job, { checked: faulty, fingerprint: r.encoderFingerprint, redo: true });
  if (how === 'none') await p.audit.store.put({ ...r, spotCheck: { outcome: 'no-verifier', redo: true } });
  return how !== 'none';
}

/** A sampled segment nobody could re-transcode (no other worker with the same fingerprint). */
export async function noVerifier(p: Pipeline, job: SegmentJob): Promise<void> {
  p.metrics.spotChecks.inc({ outcome: 'no-verifier' });
  const { session } = parseJobId(job.jobId)!;
  const audit = await p.audit.store.get(job.streamId, session, job.seq);
  if (audit) await p.audit.store.put({ ...audit, spotCheck: { outcome: 'no-verifier' } });
}
