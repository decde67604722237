import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pump } from 'node:stream/promises';
import { compareRenditions, secondOpinion, transcodeSegment } from '@segmint/media';
import type { AuditRecord } from '../audit/auditStore.js';
import { storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { convict, differingLeaves, leafHash } from './convict.js';
import { republish } from './republish.js';
import type { OwnCheckData } from './ownChecks.js';

/** Who the audit trail names as verifier when the orchestrator checked a segment itself. */
export const ORCHESTRATOR_VERIFIER = 'orchestrator';

/**
 * Runs one of the orchestrator's own checks (see ownChecks.ts) and records its outcome. The
 * reference transcode is the orchestrator's: its files replace the published ones when the worker
 * is proven wrong. `redoUnchecked` comes from spotCheck.ts.
 */
export async function runOwnCheck(p: Pipeline, d: OwnCheckData, redoUnchecked: (faulty: string, except: string) => Promise<unknown>): Promise<void> {
  const audit = await p.audit.store.get(d.streamId, d.session, d.seq);
  if (!audit?.job || audit.worker !== d.worker) return finish(p, d, null);
  const dir = await mkdtemp(join(tmpdir(), 'segmint-check-'));
  const started = performance.now();
  try {
    const source = join(dir, 'source.ts');
    if (!(await copyOut(p, storageKeys.source(d.streamId, d.session, d.seq), source))) return finish(p, d, { outcome: 'source-gone' });
    const reference = await transcodeSegment({ input: source, source: audit.job.source, profiles: audit.job.profiles, outDir: dir });
    const verdict = d.kind === 'reference' ? compareHashes(audit, reference.renditions) : await judgeQuality(p, audit, dir, source, reference.renditions);
    const base = { verifier: ORCHESTRATOR_VERIFIER, verifierTranscodeMs: Math.round(reference.transcodeMs), checkMs: Math.round(performance.now() - started), ...verdict.figures };
    if (verdict.ok && d.kind === 'reference' && audit.spotCheck?.outcome === 'mismatch') return blameFirstVerifier(p, d, audit, reference.renditions, base, redoUnchecked);
    if (verdict.ok) return finish(p, d, { outcome: d.kind === 'reference' ? 'agree' : 'quality-pass', ...base });
    // The orchestrator's own renditions go to viewers instead, under new names.
    const replacement = await stageReference(p, d, reference.renditions);
    if (verdict.inconclusive) return inconclusive(p, d, audit, replacement, base);
    const leaf = verdict.mismatched[0]!;
    const proven = await convict(
      p,
      {
        job: audit.job,
        session: d.session,
        faulty: d.worker,
        how: d.kind === 'reference' ? 'hash' : 'quality',
        replacement,
        ...(d.kind === 'reference'
          ? { evidence: { renditions: audit.renditions, fingerprint: audit.encoderFingerprint, signature: audit.commitment.signature, leaf, correctSha256: leafHash(reference.renditions, leaf)! } }
          : {}),
      },
      redoUnchecked,
    );
    await finish(p, d, { outcome: d.kind === 'reference' ? 'caught' : 'quality-fail', faulty: d.worker, ...base, ...proven });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A peer disagreed with a published result the reference re-transcode confirms: the peer's
 * committed output is the wrong one (the orchestrator's reference is the tie-break).
 */
async function blameFirstVerifier(
  p: Pipeline, d: OwnCheckData, audit: AuditRecord, reference: AuditRecord['renditions'],
  base: Partial<NonNullable<AuditRecord['spotCheck']>>, redoUnchecked: (faulty: string, except: string) => Promise<unknown>,
): Promise<void> {
  const first = audit.spotCheck!;
  const faulty = first.verifier!;
  const leaf = differingLeaves(first.verifierRenditions ?? [], reference)[0];
  const proven = leaf && first.verifierCommitment
    ? await convict(p, { job: audit.job!, session: d.session, faulty, how: 'hash', evidence: { renditions: first.verifierRenditions!, fingerprint: audit.encoderFingerprint, signature: first.verifierCommitment.signature, leaf, correctSha256: leafHash(reference, leaf)! } }, redoUnchecked)
    : {};
  await finish(p, d, { ...first, ...base, verifier: first.verifier, tieBreaker: ORCHESTRATOR_VERIFIER, mismatched: first.mismatched, outcome: leaf ? 'verifier-faulty' : 'unresolved', ...(leaf ? { faulty } : {}), ...proven });
}

type Verdict = { ok: boolean; inconclusive?: boolean; mismatched: string[]; figures: Partial<NonNullable<AuditRecord['spotCheck']>> };

async function stageReference(p: Pipeline, d: OwnCheckData, renditions: { name: string; path: string }[]): Promise<Record<string, string>> {
  const replacement: Record<string, string> = {};
  for (const r of renditions) {
    replacement[r.name] = storageKeys.pending(d.jobId, ORCHESTRATOR_VERIFIER, r.name);
    await p.storage.put(replacement[r.name]!, await readFile(r.path));
  }
  return replacement;
}

/**
 * The content is too hard for the quality measures to tell an honest encoder from a tampering
 * (media/src/quality/secondOpinion.ts): the worker is not faulted, viewers get the orchestrator's
 * own transcode, and the stream's results that cannot be compared bit for bit are all checked for
 * a while (hardContent.ts): tampering only on hard content is never left unchecked.
 */
async function inconclusive(p: Pipeline, d: OwnCheckData, audit: AuditRecord, replacement: Record<string, string>, base: Partial<NonNullable<AuditRecord['spotCheck']>>): Promise<void> {
  const replaced = await republish(p, audit.job!, d.session, replacement);
  await p.checks.hardContent.mark(d.streamId);
  p.logger.info({ jobId: d.jobId, worker: d.worker, mismatched: base.mismatched }, 'quality check inconclusive (hard content): the orchestrator\'s transcode replaces it');
  await finish(p, d, { outcome: 'quality-inconclusive', ...base, replaced });
}

function compareHashes(audit: AuditRecord, reference: AuditRecord['renditions']): Verdict {
  const mismatched = differingLeaves(audit.renditions, reference);
  return { ok: mismatched.length === 0, mismatched, figures: { mismatched, verifierRenditions: reference.map(({ name, sha256, audioSha256, width, height, frames, durationSec, bytes }) => ({ name, sha256, ...(audioSha256 ? { audioSha256 } : {}), width, height, frames, durationSec, bytes })) } };
}

/**
 * Each published rendition against the orchestrator's own transcode of the same segment and
 * profile, frame by frame and block by block (media/src/quality: a box, a logo, a blurred or
 * frozen region, dropped or repeated frames, an upscaled lower resolution all fail; honest
 * encoder-to-encoder differences pass).
 */
async function judgeQuality(p: Pipeline, audit: AuditRecord, dir: string, source: string, reference: { name: string; path: string }[]): Promise<Verdict> {
  const quality: NonNullable<NonNullable<AuditRecord['spotCheck']>['quality']> = {};
  for (const x of audit.job!.profiles) {
    const published = join(dir, `published-${x.name}.ts`);
    const ref = reference.find((r) => r.name === x.name);
    if (!ref || !(await copyOut(p, storageKeys.rendition(audit.streamId, x.name, audit.session, audit.seq, audit.rev), published))) continue;
    const r = await compareRenditions({ candidate: published, reference: ref.path });
    const failures = (f: typeof r.failures) => f.map((f) => `${f.code} ${round(f.value)} (threshold ${f.threshold})`);
    quality[x.name] = { verdict: r.verdict, failures: failures(r.failures), meanSsim: round(r.meanSsim), minBlockPsnr: round(r.minBlockPsnr.value), detailRatio: round(r.detailRatio) };
    if (r.verdict === 'pass') continue;
    // A failure counts only on a measure an honest encode of the same segment passes.
    const second = await secondOpinion({ source, sourceFps: audit.job!.source.fps, profile: x, reference: ref.path, candidate: r, dir });
    quality[x.name] = { ...quality[x.name]!, verdict: second.verdict, secondOpinion: { encoder: 'x264 ultrafast', failures: failures(second.honest.failures), unjudged: second.unjudged } };
  }
  const mismatched = Object.entries(quality).filter(([, q]) => q.verdict !== 'pass').map(([k]) => k);
  const failed = Object.values(quality).some((q) => q.verdict === 'fail');
  return { ok: mismatched.length === 0, inconclusive: mismatched.length > 0 && !failed, mismatched, figures: { quality, mismatched } };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Records the outcome; a redo (the segment of a worker proven to cheat elsewhere) stays marked as one. */
async function finish(p: Pipeline, d: OwnCheckData, spotCheck: AuditRecord['spotCheck']): Promise<void> {
  if (spotCheck) {
    p.metrics.spotChecks.inc({ outcome: spotCheck.outcome });
    const audit = await p.audit.store.get(d.streamId, d.session, d.seq);
    if (audit) await p.audit.store.put({ ...audit, spotCheck: audit.spotCheck?.redo ? { ...spotCheck, redo: true } : spotCheck });
  }
  await p.checks.pending.done(d.worker, d.jobId);
}

async function copyOut(p: Pipeline, key: string, path: string): Promise<boolean> {
  const obj = await p.storage.read(key);
  if (!obj) return false;
  await pump(obj.stream, createWriteStream(path));
  return true;
}
