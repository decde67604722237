/**
 * Quality measure for results that cannot be compared hash for hash (NVENC and other hardware
 * encoders, another ffmpeg build, a fingerprint no peer shares): a rendition is compared with its
 * own source by SSIM (ffmpeg's `ssim` filter, the source scaled to the rendition's size). An
 * average below the threshold means the output is not a fair encode of that source (wrong or
 * stale content, frozen or blank frames, a starved bitrate). SSIM is a judgement, not a proof a
 * contract can check: a failing worker loses the job's credit and is excluded, never slashed.
 * Run by the orchestrator's own check queue (ownChecks.ts, runOwnCheck.ts).
 */
import { ffmpegPath, run } from '@segmint/media';

/**
 * Whether results with this encoder fingerprint can be compared hash for hash. Fingerprints are
 * `ffmpeg/VERSION;ENCODER;settings…`: only libx264 with pinned settings is deterministic.
 */
export const hashComparable = (fingerprint: string): boolean => fingerprint.split(';')[1] === 'libx264';

/** Mean SSIM (0–1, "All") of `encoded` against `source` scaled to `width`×`height`. */
export async function ssimAgainstSource(encoded: string, source: string, width: number, height: number): Promise<number> {
  const { stderr } = await run(ffmpegPath(), [
    '-hide_banner', '-nostats', '-i', encoded, '-i', source,
    '-lavfi', `[1:v]scale=${width}:${height}:flags=bicubic,setsar=1[ref];[0:v]setsar=1[out];[out][ref]ssim=shortest=1`,
    '-an', '-f', 'null', '-',
  ], { timeoutMs: 60_000 });
  const all = /SSIM .*All:([0-9.]+)/.exec(stderr)?.[1];
  if (all === undefined) throw new Error('ffmpeg printed no SSIM');
  return Number(all);
}
