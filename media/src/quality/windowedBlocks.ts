import type { FrameStats } from './blockStats.js';
import { psnr } from './blockStats.js';

/** Worst block over sliding windows of frames: its value, the window's first frame and the block. */
export type WorstBlock = { value: number; frame: number; block: number };

export type WindowedMinima = {
  /** Lowest mean SSIM of one block over a window. */
  ssim: WorstBlock;
  /** Lowest PSNR (dB) of one block over a window. */
  psnr: WorstBlock;
  /** Lowest detail ratio (candidate / reference) of one block with real detail over a window. */
  detail: WorstBlock;
  /** Lowest chroma PSNR (dB) of one block over a window. */
  chromaPsnr: WorstBlock;
};

/** A block counts for detail ratios only where the reference has this much detail per pixel. */
export const DETAIL_FLOOR = 4;

/**
 * Minima over every block and every window of `window` consecutive frames (all frames if fewer):
 * a tampering stays put for many frames, an honest encoder's worst moment (a hard keyframe)
 * does not, so averaging over a short window keeps honest outliers in while tamperings show.
 */
export function windowedMinima(frames: readonly FrameStats[], window: number): WindowedMinima {
  const worst: WindowedMinima = { ssim: none(), psnr: none(), detail: none(), chromaPsnr: none() };
  if (frames.length === 0) return worst;
  const w = Math.min(window, frames.length);
  const blocks = frames[0]!.ssim.length;
  for (let b = 0; b < blocks; b++) {
    let ssim = 0, ssd = 0, px = 0, dc = 0, dr = 0, cssd = 0, cpx = 0;
    for (let f = 0; f < frames.length; f++) {
      const s = frames[f]!;
      ssim += s.ssim[b]!; ssd += s.ssd[b]!; px += s.pixels[b]!; dc += s.detailCandidate[b]!; dr += s.detailReference[b]!;
      cssd += s.chromaSsd?.[b] ?? 0; cpx += s.chromaSamples?.[b] ?? 0;
      if (f >= w) {
        const o = frames[f - w]!;
        ssim -= o.ssim[b]!; ssd -= o.ssd[b]!; px -= o.pixels[b]!; dc -= o.detailCandidate[b]!; dr -= o.detailReference[b]!;
        cssd -= o.chromaSsd?.[b] ?? 0; cpx -= o.chromaSamples?.[b] ?? 0;
      }
      if (f < w - 1 || px <= 0) continue;
      const start = f - w + 1;
      lower(worst.ssim, ssim / w, start, b);
      lower(worst.psnr, psnr(ssd / px), start, b);
      if (dr / px >= DETAIL_FLOOR) lower(worst.detail, dc / dr, start, b);
      if (cpx > 0) lower(worst.chromaPsnr, psnr(Math.max(0, cssd) / cpx), start, b);
    }
  }
  return worst;
}

const none = (): WorstBlock => ({ value: Number.POSITIVE_INFINITY, frame: -1, block: -1 });

function lower(w: WorstBlock, value: number, frame: number, block: number): void {
  if (value < w.value) Object.assign(w, { value, frame, block });
}
