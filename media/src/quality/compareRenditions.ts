/**
 * Local quality check of a rendition from an encoder that is not bit-exact (NVENC, or any worker
 * that claims it): the candidate is compared with a reference transcode of the same segment and
 * profile, frame by frame and block by block (luma, luma at half size, chroma), so a change in one
 * place (a box, a logo, a blurred, frozen or recoloured region), in time (dropped, repeated or
 * frozen frames) or in detail (a lower resolution upscaled, a starved bitrate) fails even when a
 * mean over the picture would pass.
 *
 * A rendition fails (QUALITY_THRESHOLDS, the one place the numbers live) when:
 * - its size or frame count is not the reference's;
 * - more than 2 frames match a neighbouring reference frame better than their own (dropped,
 *   repeated or frozen frames shift the match);
 * - over some window of 15 frames (a tampering persists, an honest encoder's bad moment does not)
 *   some block's luma PSNR < 16 dB, its PSNR at half size (2×2 means: shapes, not grain) < 21 dB,
 *   its chroma PSNR < 19 dB, or, where the reference has shapes there, its half-size detail
 *   < 0.25 × the reference's (a blur);
 * - its fine detail over the picture < 0.7 × the reference's (a lower resolution upscaled lacks
 *   the top octave);
 * - more than 4 blocks are held still for 8 frames in a row while the reference moves.
 * Grain is where honest encoders differ most (each keeps or drops it block by block), so no
 * measure compares grain: PSNR thresholds sit under what honest encoders reach on heavy grain at
 * 180p/300 kbps, and detail counts only shapes. The figures (honest worst vs tamperings) are in
 * README "Quality checks: thresholds", from `tsx bench/qualityCalibrate.ts` and `npm run bench:quality`.
 */
import { readFile } from 'node:fs/promises';
import { segmentFacts } from '../mpegts.js';
import { SegmintError } from '@segmint/protocol';
import { blockGrid, blockMse, blockRect, chromaBlockSsd, compareFrame, frameMse, psnr, type BlockRect, type FrameStats } from './blockStats.js';
import { GrayFrames } from './grayFrames.js';
import { windowedMinima } from './windowedBlocks.js';

export type QualityThresholds = {
  /** Frames per window for the block minima. */
  windowFrames: number;
  /** A block's luma PSNR (dB) over a window: something drawn over the picture, a frozen region. */
  minBlockPsnr: number;
  /** A block's PSNR (dB) at half size (2×2 means) over a window: shapes changed (a blurred region). */
  minBlockStructurePsnr: number;
  /** A block's chroma PSNR (dB, both planes) over a window: a colour changed in one place. */
  minBlockChromaPsnr: number;
  /** A block's half-size detail ÷ the reference's over a window: texture lost in one place. */
  minBlockDetail: number;
  /** The rendition's fine (full-size) detail ÷ the reference's: a lower resolution upscaled. */
  minDetailRatio: number;
  /** Frames that match a neighbouring reference frame better than their own. */
  maxMisalignedFrames: number;
  /** Blocks held still while the reference moves. */
  maxFrozenBlocks: number;
};

/**
 * The thresholds, in one place. Calibrated from honest encoder-to-encoder differences
 * (`tsx bench/qualityCalibrate.ts`; figures in README "Quality checks: thresholds").
 */
export const QUALITY_THRESHOLDS: Readonly<QualityThresholds> = Object.freeze({
  windowFrames: 15,
  minBlockPsnr: 16,
  minBlockStructurePsnr: 21,
  minBlockChromaPsnr: 19,
  minBlockDetail: 0.25,
  minDetailRatio: 0.7,
  maxMisalignedFrames: 2,
  maxFrozenBlocks: 4,
});

export type QualityFailureCode =
  | 'size' | 'frame-count' | 'frame-alignment' | 'block-psnr' | 'block-structure' | 'block-chroma' | 'block-detail' | 'detail' | 'frozen-region';

export type QualityFailure = { code: QualityFailureCode; value: number; threshold: number };

export type CompareRenditionsParameters = {
  candidate: string;
  reference: string;
  thresholds?: Partial<QualityThresholds>;
  timeoutMs?: number;
};

export type WorstBlockFigure = { value: number; frame: number; block: BlockRect };

export type CompareRenditionsReturnType = {
  verdict: 'pass' | 'fail';
  failures: QualityFailure[];
  width: number;
  height: number;
  frames: { candidate: number; reference: number };
  /** Mean SSIM and PSNR over every block of every compared frame. */
  meanSsim: number;
  meanPsnr: number;
  /** The frame with the lowest PSNR against its reference frame. */
  worstFrame: { frame: number; psnr: number };
  /**
   * Window minima: `frame` is the window's first frame, `block` the block's pixels. SSIM is a
   * figure only (honest encoders at low bitrates on grain come too close to a tampering's).
   */
  minBlockSsim: WorstBlockFigure;
  minBlockPsnr: WorstBlockFigure;
  /** PSNR of a block at half size (2×2 means). */
  minBlockStructurePsnr: WorstBlockFigure;
  /** Chroma (both planes) PSNR of a block over a window. */
  minBlockChromaPsnr: WorstBlockFigure;
  /** Half-size detail ratio (candidate ÷ reference) of a block where the reference has detail. */
  minBlockDetail: WorstBlockFigure;
  /** Fine (full-size) detail of the rendition ÷ the reference's, over blocks with fine detail. */
  detailRatio: number;
  misalignedFrames: number;
  frozenBlocks: number;
  thresholds: QualityThresholds;
  compareMs: number;
};

/** The two files cannot be compared (not video, unreadable). Not the candidate's fault alone. */
export class QualityCompareError extends SegmintError {
  override name = 'QualityCompareError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('QUALITY_COMPARE_FAILED', message, options);
  }
}

/**
 * Compares a candidate rendition (MPEG-TS) with a reference transcode of the same segment and
 * profile; returns the verdict and the figures for an audit record.
 * @example
 * const r = await compareRenditions({ candidate: 'nvenc/720p0.ts', reference: 'ref/720p0.ts' });
 * if (r.verdict === 'fail') console.log(r.failures); // [{ code: 'block-ssim', value: 0.21, threshold: 0.55 }]
 */
export async function compareRenditions(p: CompareRenditionsParameters): Promise<CompareRenditionsReturnType> {
  const started = performance.now();
  const t: QualityThresholds = { ...QUALITY_THRESHOLDS, ...p.thresholds };
  const [cand, ref] = await Promise.all([videoSize(p.candidate), videoSize(p.reference)]);
  if (cand.width !== ref.width || cand.height !== ref.height) {
    return sizeMismatch(cand, ref, t, started);
  }
  const scan = await scanFrames(p.candidate, p.reference, ref.width, ref.height, p.timeoutMs);
  return verdictOf(scan, ref.width, ref.height, t, started);
}

async function videoSize(file: string): Promise<{ width: number; height: number; frames: number }> {
  try {
    const f = segmentFacts(await readFile(file));
    if (!f.width || !f.height) throw new Error('no H.264 picture size');
    return f;
  } catch (err) {
    throw new QualityCompareError(`${file} is not a readable H.264 MPEG-TS segment`, { cause: err });
  }
}

type Scan = {
  stats: FrameStats[];
  framePsnr: number[];
  candidateFrames: number;
  referenceFrames: number;
  misaligned: number;
  frozen: number;
};

/** Reads both files in step (the reference one frame ahead, for alignment); collects per-frame stats. */
async function scanFrames(candidate: string, reference: string, width: number, height: number, timeoutMs?: number): Promise<Scan> {
  const g = blockGrid(width, height);
  const c = new GrayFrames(candidate, width, height, timeoutMs);
  const r = new GrayFrames(reference, width, height, timeoutMs);
  const scan: Scan = { stats: [], framePsnr: [], candidateFrames: 0, referenceFrames: 0, misaligned: 0, frozen: 0 };
  const frozen = new FrozenBlocks(g.cols * g.rows);
  try {
    let prevC: Uint8Array | null = null, prevR: Uint8Array | null = null;
    let curR = await r.next();
    let nextR = curR && (await r.next());
    let curC = await c.next();
    while (curC && curR) {
      scan.candidateFrames++;
      scan.referenceFrames++;
      const n = width * height;
      const stats = compareFrame(curC.subarray(0, n), curR.subarray(0, n), g);
      const chroma = chromaBlockSsd(curC, curR, g);
      stats.chromaSsd = chroma.ssd;
      stats.chromaSamples = chroma.samples;
      scan.stats.push(stats);
      const same = stats.ssd.reduce((a, b) => a + b, 0) / stats.pixels.reduce((a, b) => a + b, 0);
      scan.framePsnr.push(psnr(same));
      if (misaligned(same, prevR && frameMse(curC, prevR, width, height), nextR && frameMse(curC, nextR, width, height))) scan.misaligned++;
      if (prevC && prevR) frozen.add(blockMse(curC, prevC, g), blockMse(curR, prevR, g));
      [prevC, prevR, curR] = [curC, curR, nextR];
      nextR = curR && (await r.next());
      curC = await c.next();
    }
    scan.frozen = frozen.count;
    for (; curC; curC = await c.next()) scan.candidateFrames++;
    for (; curR; curR = nextR, nextR = curR && (await r.next())) scan.referenceFrames++;
    return scan;
  } catch (err) {
    throw new QualityCompareError('could not decode the renditions to compare them', { cause: err });
  } finally {
    c.close();
    r.close();
  }
}

/** A frame is out of place when a neighbouring reference frame matches it much better than its own. */
function misaligned(same: number, prev: number | null, next: number | null): boolean {
  const best = Math.min(prev ?? Infinity, next ?? Infinity);
  return psnr(same) < 40 && best < 0.5 * same;
}

/**
 * Blocks that stay still in the candidate (mse < 1 against its previous frame) while the
 * reference moves (mse > 30) for FROZEN_RUN frames in a row. An encoder may skip a block for a
 * frame or two; a held region stays still for the rest of the segment.
 */
class FrozenBlocks {
  private readonly run: Int32Array;
  private readonly counted: Uint8Array;
  count = 0;
  constructor(blocks: number) {
    this.run = new Int32Array(blocks);
    this.counted = new Uint8Array(blocks);
  }
  add(cand: Float64Array, ref: Float64Array): void {
    for (let b = 0; b < cand.length; b++) {
      this.run[b] = cand[b]! < 1 && ref[b]! > 30 ? this.run[b]! + 1 : 0;
      if (this.run[b]! >= FROZEN_RUN && !this.counted[b]) {
        this.counted[b] = 1;
        this.count++;
      }
    }
  }
}
const FROZEN_RUN = 8;

function verdictOf(s: Scan, width: number, height: number, t: QualityThresholds, started: number): CompareRenditionsReturnType {
  const g = blockGrid(width, height);
  const m = windowedMinima(s.stats, t.windowFrames);
  let ssd = 0, px = 0, ssim = 0, blocks = 0, dc = 0, dr = 0;
  for (const f of s.stats) {
    for (let b = 0; b < f.ssd.length; b++) {
      ssd += f.ssd[b]!; px += f.pixels[b]!; ssim += f.ssim[b]!; blocks++;
      // Detail only where the reference has some: grain on a flat picture is not detail to keep.
      if (f.detailReference[b]! >= FINE_DETAIL_FLOOR * f.pixels[b]!) { dc += f.detailCandidate[b]!; dr += f.detailReference[b]!; }
    }
  }
  const worstIdx = s.framePsnr.reduce((w, v, i) => (v < s.framePsnr[w]! ? i : w), 0);
  // No window (no frames) or no block with detail: nothing lost, the best value.
  const fig = (w: { value: number; frame: number; block: number }, best = 1): WorstBlockFigure =>
    ({ value: Number.isFinite(w.value) ? round(w.value) : best, frame: w.frame, block: w.block >= 0 ? blockRect(g, w.block) : { x: 0, y: 0, w: 0, h: 0 } });
  const r: CompareRenditionsReturnType = {
    verdict: 'pass', failures: [], width, height,
    frames: { candidate: s.candidateFrames, reference: s.referenceFrames },
    meanSsim: round(blocks ? ssim / blocks : 1), meanPsnr: round(psnr(px ? ssd / px : 0)),
    worstFrame: { frame: worstIdx, psnr: round(s.framePsnr[worstIdx] ?? 100) },
    minBlockSsim: fig(m.ssim), minBlockPsnr: fig(m.psnr, 100), minBlockChromaPsnr: fig(m.chromaPsnr, 100), minBlockDetail: fig(m.detail),
    minBlockStructurePsnr: fig(m.structurePsnr, 100), detailRatio: round(dr ? dc / dr : 1), misalignedFrames: s.misaligned, frozenBlocks: s.frozen,
    thresholds: t, compareMs: 0,
  };
  const fail = (code: QualityFailureCode, value: number, threshold: number) => r.failures.push({ code, value, threshold });
  if (s.candidateFrames !== s.referenceFrames) fail('frame-count', s.candidateFrames, s.referenceFrames);
  if (s.misaligned > t.maxMisalignedFrames) fail('frame-alignment', s.misaligned, t.maxMisalignedFrames);
  if (r.minBlockPsnr.value < t.minBlockPsnr) fail('block-psnr', r.minBlockPsnr.value, t.minBlockPsnr);
  if (r.minBlockStructurePsnr.value < t.minBlockStructurePsnr) fail('block-structure', r.minBlockStructurePsnr.value, t.minBlockStructurePsnr);
  if (r.minBlockChromaPsnr.value < t.minBlockChromaPsnr) fail('block-chroma', r.minBlockChromaPsnr.value, t.minBlockChromaPsnr);
  if (r.minBlockDetail.value < t.minBlockDetail) fail('block-detail', r.minBlockDetail.value, t.minBlockDetail);
  if (r.detailRatio < t.minDetailRatio) fail('detail', r.detailRatio, t.minDetailRatio);
  if (s.frozen > t.maxFrozenBlocks) fail('frozen-region', s.frozen, t.maxFrozenBlocks);
  r.verdict = r.failures.length ? 'fail' : 'pass';
  r.compareMs = Math.round(performance.now() - started);
  return r;
}

function sizeMismatch(cand: { width: number; height: number; frames: number }, ref: { width: number; height: number; frames: number }, t: QualityThresholds, started: number): CompareRenditionsReturnType {
  const empty: WorstBlockFigure = { value: 0, frame: -1, block: { x: 0, y: 0, w: 0, h: 0 } };
  return {
    verdict: 'fail', failures: [{ code: 'size', value: cand.width * cand.height, threshold: ref.width * ref.height }],
    width: cand.width, height: cand.height, frames: { candidate: cand.frames, reference: ref.frames },
    meanSsim: 0, meanPsnr: 0, worstFrame: { frame: -1, psnr: 0 }, minBlockSsim: empty, minBlockPsnr: empty, minBlockChromaPsnr: empty, minBlockDetail: empty,
    minBlockStructurePsnr: empty, detailRatio: 0, misalignedFrames: 0, frozenBlocks: 0, thresholds: t, compareMs: Math.round(performance.now() - started),
  };
}

/** The rendition's fine-detail ratio counts only blocks where the reference has this much full-size detail per pixel. */
const FINE_DETAIL_FLOOR = 4;

const round = (v: number): number => Math.round(v * 10_000) / 10_000;
