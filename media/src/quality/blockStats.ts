/**
 * Per-frame, per-block measures of a candidate luma frame against a reference one (pure, no I/O).
 * Each frame is cut into a grid of square blocks (about a twelfth of the height, a multiple of 8);
 * each block gets the sum of squared differences (for PSNR), the mean SSIM of its 8×8 windows
 * (non-overlapping, the usual constants), and the fine detail of both pictures (sum of absolute
 * second differences, across and down: the top octave, which an upscaled picture lacks), so a
 * blurred or upscaled block shows as detail lost against the reference.
 */

export type BlockGrid = { width: number; height: number; size: number; cols: number; rows: number };

/** The block grid for a picture size: blocks of 8·round(height/96) px (at least 16), edge blocks cut short. */
export function blockGrid(width: number, height: number): BlockGrid {
  const size = 8 * Math.max(2, Math.round(height / 96));
  return { width, height, size, cols: Math.ceil(width / size), rows: Math.ceil(height / size) };
}

export type BlockRect = { x: number; y: number; w: number; h: number };

export function blockRect(g: BlockGrid, block: number): BlockRect {
  const x = (block % g.cols) * g.size;
  const y = Math.floor(block / g.cols) * g.size;
  return { x, y, w: Math.min(g.size, g.width - x), h: Math.min(g.size, g.height - y) };
}

export type FrameStats = {
  /** Per block: sum of squared differences, and the pixels it covers. */
  ssd: Float64Array;
  pixels: Float64Array;
  /** Per block: mean SSIM over its 8×8 windows. */
  ssim: Float64Array;
  /** Per block: sum of |second differences| in the candidate and in the reference. */
  detailCandidate: Float64Array;
  detailReference: Float64Array;
  /**
   * Per block, on the picture averaged over 2×2 pixels (half size: grain, which encoders keep or
   * smooth by taste, mostly averages out; shapes, edges and texture stay): the sum of squared
   * differences (per full-size pixel), and the fine detail of candidate and reference there.
   */
  halfSsd: Float64Array;
  halfDetailCandidate: Float64Array;
  halfDetailReference: Float64Array;
  /** Per block: chroma sum of squared differences and samples (chromaBlockSsd), when measured. */
  chromaSsd?: Float64Array;
  chromaSamples?: Float64Array;
};

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

/**
 * Compares two frames of the grid's size block by block. The hot loops call no Math functions:
 * under jest's VM context each call is ~25× slower (a 720p frame took 1.2 s instead of 50 ms).
 */
export function compareFrame(cand: Uint8Array, ref: Uint8Array, g: BlockGrid): FrameStats {
  const n = g.cols * g.rows;
  const s: FrameStats = {
    ssd: new Float64Array(n), pixels: new Float64Array(n), ssim: new Float64Array(n),
    detailCandidate: new Float64Array(n), detailReference: new Float64Array(n),
    halfSsd: new Float64Array(n), halfDetailCandidate: new Float64Array(n), halfDetailReference: new Float64Array(n),
  };
  const cc = new Float64Array(16), cr = new Float64Array(16);
  const windows = new Float64Array(n);
  const W = g.width;
  for (let wy = 0; wy + 8 <= g.height; wy += 8) {
    const rowBlock = ((wy / g.size) | 0) * g.cols;
    for (let wx = 0; wx + 8 <= W; wx += 8) {
      const b = rowBlock + ((wx / g.size) | 0);
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, dc = 0, dr = 0;
      cc.fill(0);
      cr.fill(0);
      for (let y = 0; y < 8; y++) {
        const o = (wy + y) * W + wx;
        const cellRow = (y >> 1) << 2;
        for (let x = 0; x < 8; x++) {
          const a = cand[o + x]!, r = ref[o + x]!;
          sx += a; sy += r; sxx += a * a; syy += r * r; sxy += a * r;
          cc[cellRow + (x >> 1)]! += a;
          cr[cellRow + (x >> 1)]! += r;
          if (x > 0 && x < 7) {
            const hc = 2 * a - cand[o + x - 1]! - cand[o + x + 1]!, hr = 2 * r - ref[o + x - 1]! - ref[o + x + 1]!;
            dc += hc < 0 ? -hc : hc;
            dr += hr < 0 ? -hr : hr;
          }
          if (y > 0 && y < 7) {
            const vc = 2 * a - cand[o + x - W]! - cand[o + x + W]!, vr = 2 * r - ref[o + x - W]! - ref[o + x + W]!;
            dc += vc < 0 ? -vc : vc;
            dr += vr < 0 ? -vr : vr;
          }
        }
      }
      const mx = sx / 64, my = sy / 64;
      const vx = sxx / 64 - mx * mx, vy = syy / 64 - my * my, cxy = sxy / 64 - mx * my;
      s.ssim[b]! += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      s.ssd[b]! += sxx + syy - 2 * sxy;
      s.pixels[b]! += 64;
      s.detailCandidate[b]! += dc;
      s.detailReference[b]! += dr;
      halfCells(cc, cr, s, b);
      windows[b]! += 1;
    }
  }
  for (let b = 0; b < n; b++) s.ssim[b] = windows[b]! > 0 ? s.ssim[b]! / windows[b]! : 1;
  return s;
}

/** Adds one 8×8 window's 4×4 grid of 2×2 sums (candidate, reference) to block b's half-size figures. */
function halfCells(cc: Float64Array, cr: Float64Array, s: FrameStats, b: number): void {
  let ssd = 0, dc = 0, dr = 0;
  for (let k = 0; k < 16; k++) {
    const d = cc[k]! - cr[k]!;
    ssd += d * d;
  }
  for (let y = 0; y < 4; y++) {
    for (let x = 1; x < 3; x++) {
      const k = y * 4 + x;
      const hc = 2 * cc[k]! - cc[k - 1]! - cc[k + 1]!, hr = 2 * cr[k]! - cr[k - 1]! - cr[k + 1]!;
      dc += hc < 0 ? -hc : hc;
      dr += hr < 0 ? -hr : hr;
      const j = x * 4 + y; // the same down the columns
      const vc = 2 * cc[j]! - cc[j - 4]! - cc[j + 4]!, vr = 2 * cr[j]! - cr[j - 4]! - cr[j + 4]!;
      dc += vc < 0 ? -vc : vc;
      dr += vr < 0 ? -vr : vr;
    }
  }
  // Sums of 4 pixels: a mean's squared difference is ssd/16, over the 4 pixels it stands for.
  s.halfSsd[b]! += ssd / 4;
  s.halfDetailCandidate[b]! += dc / 4;
  s.halfDetailReference[b]! += dr / 4;
}

/**
 * Per block: sum of squared differences of the two chroma planes (and the samples counted), from
 * whole yuv420p frames: a coloured box on a background of the same brightness shows only here.
 */
export function chromaBlockSsd(cand: Uint8Array, ref: Uint8Array, g: BlockGrid): { ssd: Float64Array; samples: Float64Array } {
  const ssd = new Float64Array(g.cols * g.rows);
  const samples = new Float64Array(ssd.length);
  const cw = (g.width + 1) >> 1, ch = (g.height + 1) >> 1, half = g.size >> 1;
  for (let plane = 0; plane < 2; plane++) {
    const base = g.width * g.height + plane * cw * ch;
    for (let y = 0; y < ch; y++) {
      const o = base + y * cw;
      const rowBlock = ((y / half) | 0) * g.cols;
      for (let x = 0; x < cw; x++) {
        const d = cand[o + x]! - ref[o + x]!;
        const k = rowBlock + ((x / half) | 0);
        ssd[k]! += d * d;
        samples[k]! += 1;
      }
    }
  }
  return { ssd, samples };
}

/** Mean squared difference of two whole frames, on every 4th row and column (enough to align frames). */
export function frameMse(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  let sum = 0, count = 0;
  for (let y = 0; y < height; y += 4) {
    const o = y * width;
    for (let x = 0; x < width; x += 4) {
      const d = a[o + x]! - b[o + x]!;
      sum += d * d;
      count++;
    }
  }
  return count ? sum / count : 0;
}

/** Per block: mean squared difference of two frames (a frame against the one before it), every 2nd pixel. */
export function blockMse(a: Uint8Array, b: Uint8Array, g: BlockGrid): Float64Array {
  const out = new Float64Array(g.cols * g.rows);
  const px = new Float64Array(out.length);
  for (let y = 0; y < g.height; y += 2) {
    const o = y * g.width;
    const rowBlock = ((y / g.size) | 0) * g.cols;
    for (let x = 0; x < g.width; x += 2) {
      const d = a[o + x]! - b[o + x]!;
      const k = rowBlock + ((x / g.size) | 0);
      out[k]! += d * d;
      px[k]! += 1;
    }
  }
  for (let k = 0; k < out.length; k++) out[k] = px[k]! ? out[k]! / px[k]! : 0;
  return out;
}

/** PSNR (dB) of a mean squared error on 8-bit samples; capped at 100 for identical pictures. */
export const psnr = (mse: number): number => (mse <= 1e-10 ? 100 : 10 * Math.log10((255 * 255) / mse));
