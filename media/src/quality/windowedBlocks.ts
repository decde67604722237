import type { FrameStats } from './blockStats.js';
import { psnr } from './blockStats.js';

/** Worst block over sliding windows of frames: its value, the window's first frame and the block. */
export type WorstBlock = { value: number; frame: number; block: number };

export type WindowedMinima = {
  /** Lowest mean SSIM of one block over a window. */
  ssim: WorstBlock;
  /** Lowest PSNR (dB) of one block over a window. */
  psnr: WorstBlock;
  /** Lowest PSNR (dB) of one block over a window at half size (2×2 means: shapes, not grain). */
  structurePsnr: WorstBlock;
  /**
   * Lowest detail ratio (candidate / reference) of one block over a window, at half size, where
   * the reference has detail there (grain mostly averages out at half size; shapes and texture stay).
   */
  detail: WorstBlock;
  /** Lowest chroma PSNR (dB) of one block over a window. */
  chromaPsnr: WorstBlock;
};

/** A block counts for the detail ratio only where the reference has this much half-size detail per pixel… */
export const DETAIL_FLOOR = 2;
/**
 * …and where that is shapes rather than grain: half-size detail ≥ this share of the full-size
 * detail. Per pixel, independent grain gives a share of about 0.08 (averaging 2×2 halves it, and
 * a sixth as many differences), a smooth shape about 0.7 (differences over twice the step).
 * Honest encoders keep or drop heavy grain block by block; a blur takes the shapes.
 */
export const STRUCTURE_SHARE = 0.25;

type Sums = { ssim: Float64Array; ssd: Float64Array; px: Float64Array; dr: Float64Array; hssd: Float64Array; hdc: Float64Array; hdr: Float64Array; cssd: Float64Array; cpx: Float64Array };

/** Adds (sign 1) or removes (sign −1) one frame's block figures to the window's running sums. */
function addFrame(w: Sums, s: FrameStats, sign: number): void {
  for (let b = 0; b < w.ssim.length; b++) {
    w.ssim[b]! += sign * s.ssim[b]!; w.ssd[b]! += sign * s.ssd[b]!; w.px[b]! += sign * s.pixels[b]!;
    w.dr[b]! += sign * s.detailReference[b]!;
    w.hssd[b]! += sign * s.halfSsd[b]!; w.hdc[b]! += sign * s.halfDetailCandidate[b]!; w.hdr[b]! += sign * s.halfDetailReference[b]!;
    w.cssd[b]! += sign * (s.chromaSsd?.[b] ?? 0); w.cpx[b]! += sign * (s.chromaSamples?.[b] ?? 0);
  }
}

/**
 * Minima over every block and every window of `window` consecutive frames (all frames if fewer):
 * a tampering stays put for many frames, an honest encoder's worst moment (a hard keyframe)
 * does not, so averaging over a short window keeps honest outliers in while tamperings show.
 */
export function windowedMinima(frames: readonly FrameStats[], window: number): WindowedMinima {
  const worst: WindowedMinima = {
    ssim: none(), psnr: none(), structurePsnr: none(), detail: none(), chromaPsnr: none(),
  };
  if (frames.length === 0) return worst;
  const w = Math.min(window, frames.length);
  const blocks = frames[0]!.ssim.length;
  const z = () => new Float64Array(blocks);
  const sums: Sums = { ssim: z(), ssd: z(), px: z(), dr: z(), hssd: z(), hdc: z(), hdr: z(), cssd: z(), cpx: z() };
  const v = { psnr: z(), structurePsnr: z(), chromaPsnr: z(), detail: z() };
  for (let f = 0; f < frames.length; f++) {
    addFrame(sums, frames[f]!, 1);
    if (f >= w) addFrame(sums, frames[f - w]!, -1);
    if (f < w - 1) continue;
    const start = f - w + 1;
    for (let b = 0; b < blocks; b++) {
      const px = sums.px[b]!;
      v.psnr[b] = px > 0 ? psnr(Math.max(0, sums.ssd[b]!) / px) : NaN;
      v.structurePsnr[b] = px > 0 ? psnr(Math.max(0, sums.hssd[b]!) / px) : NaN;
      v.chromaPsnr[b] = sums.cpx[b]! > 0 ? psnr(Math.max(0, sums.cssd[b]!) / sums.cpx[b]!) : NaN;
      const shapes = sums.hdr[b]! / px >= DETAIL_FLOOR && sums.hdr[b]! >= STRUCTURE_SHARE * sums.dr[b]!;
      v.detail[b] = px > 0 && shapes ? sums.hdc[b]! / sums.hdr[b]! : NaN;
      if (px > 0) lower(worst.ssim, sums.ssim[b]! / w, start, b);
    }
    for (const k of ['psnr', 'structurePsnr', 'chromaPsnr', 'detail'] as const) {
      for (let b = 0; b < blocks; b++) if (!Number.isNaN(v[k][b]!)) lower(worst[k], v[k][b]!, start, b);
    }
  }
  return worst;
}

const none = (): WorstBlock => ({ value: Number.POSITIVE_INFINITY, frame: -1, block: -1 });

function lower(w: WorstBlock, value: number, frame: number, block: number): void {
  if (value < w.value) Object.assign(w, { value, frame, block });
}
