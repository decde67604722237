/**
 * A second opinion for a rendition that failed the quality check: is the content simply too hard
 * for the thresholds? Some content (hard edges changing every frame, e.g. a cellular automaton,
 * at a low rendition) starves every encoder, and honest encoders then differ from the reference
 * by as much as a tampering does. So before a failure counts, the orchestrator encodes the same
 * segment and profile once more with an honest encoder that sits far from the reference (x264
 * ultrafast: in calibration the honest variant closest to the thresholds) and compares that with
 * the reference too. Where that honest encode fails a measure, the measure cannot judge this
 * segment, and the candidate's failure on it is not counted:
 * - the block luma measures (block-psnr, block-structure, block-detail) go together: honest
 *   encoders that starve trade one for another block by block;
 * - where those cannot judge, the content starves encoders, and they skip blocks too: x264
 *   ultrafast with threads held 5 blocks still on the cellular automaton (threshold 4), so
 *   `frozen-region` then counts only above 4 × its threshold (a starved tampering holds 75–121);
 * - every other measure stands alone (a honest encode that keeps the colours proves a changed
 *   colour, one with every frame in place proves a dropped frame).
 * The verdict is `fail` when the candidate fails a measure that can judge, `inconclusive` when
 * every failure was on a measure that cannot. On calibrated content (README "Quality checks:
 * thresholds") the second opinion passes, so every failure there still counts.
 */
import { join } from 'node:path';
import type { RenditionProfile } from '@segmint/protocol';
import { compareRenditions, type CompareRenditionsReturnType, type QualityFailure, type QualityFailureCode } from './compareRenditions.js';
import { encodeVariant, type EncodeVariant } from './tamperings.js';

/** The honest encode the second opinion uses: x264 ultrafast at the profile's bitrate. */
export const SECOND_OPINION_ENCODER: Readonly<EncodeVariant> = Object.freeze({ name: 'x264 ultrafast', preset: 'ultrafast' });

const BLOCK_LUMA: readonly QualityFailureCode[] = ['block-psnr', 'block-structure', 'block-detail'];

export type SecondOpinionVerdict = {
  verdict: 'fail' | 'inconclusive';
  /** The candidate's failures that count (the honest encode passed those measures). */
  counted: QualityFailureCode[];
  /** The measures the honest encode failed too: they cannot judge this segment. */
  unjudged: QualityFailureCode[];
};

/** Frozen blocks an encoder starved by the content may hold, × the threshold. */
const STARVED_FROZEN_FACTOR = 4;

/** Which of a failed candidate's failures count, given the honest second encode's failures. */
export function judgeAgainstSecondOpinion(candidate: readonly QualityFailure[], honest: readonly QualityFailure[]): SecondOpinionVerdict {
  const unjudged = new Set<QualityFailureCode>(honest.map((f) => f.code));
  const starved = honest.some((f) => BLOCK_LUMA.includes(f.code));
  if (starved) for (const c of BLOCK_LUMA) unjudged.add(c);
  const counts = (f: QualityFailure) =>
    !unjudged.has(f.code) && !(starved && f.code === 'frozen-region' && f.value <= STARVED_FROZEN_FACTOR * f.threshold);
  const counted = candidate.filter(counts).map((f) => f.code);
  return { verdict: counted.length > 0 ? 'fail' : 'inconclusive', counted, unjudged: [...unjudged] };
}

export type SecondOpinionParameters = {
  /** The source segment (MPEG-TS) the rendition was made from. */
  source: string;
  sourceFps: number;
  profile: RenditionProfile;
  /** The reference transcode of this rendition, and the candidate's comparison with it (failed). */
  reference: string;
  candidate: CompareRenditionsReturnType;
  /** Where the honest encode is written. */
  dir: string;
};

export type SecondOpinionReturnType = SecondOpinionVerdict & { honest: CompareRenditionsReturnType; encodeMs: number };

/** Encodes the honest second opinion, compares it with the reference, and judges the candidate. */
export async function secondOpinion(p: SecondOpinionParameters): Promise<SecondOpinionReturnType> {
  const out = join(p.dir, `second-opinion-${p.profile.name}.ts`);
  const started = performance.now();
  await encodeVariant({ input: p.source, profile: p.profile, sourceFps: p.sourceFps, variant: SECOND_OPINION_ENCODER, out });
  const encodeMs = performance.now() - started;
  const honest = await compareRenditions({ candidate: out, reference: p.reference });
  const judged = judgeAgainstSecondOpinion(p.candidate.failures, honest.failures);
  return { ...judged, honest, encodeMs: Math.round(encodeMs) };
}
