import type { RenditionProfile, SegmentFacts } from '@segmint/protocol';

/**
 * The verifiable x264 profile (DESIGN step 5): one encoder thread per rendition, so the same input
 * gives the same bytes on any machine with the same ffmpeg build; parallelism comes from running
 * renditions (inside one process) and segments side by side instead.
 */
export const X264_SETTINGS = {
  preset: 'veryfast',
  threads: 1,
  audioBitrate: '96k',
} as const;

/** Version of this argument layout; part of the encoder fingerprint. */
export const LADDER_VERSION = 'ladder-v1';

export type LadderOutput = { profile: RenditionProfile; path: string };

/** H.264 encoders the ladder can use: x264 (deterministic, spot-checked by hash) or NVENC (GPU). */
export type H264Encoder = 'libx264' | 'h264_nvenc';

/** Video encoder arguments for one rendition. NVENC is not bit-reproducible: checked by SSIM instead. */
function videoEncoderArgs(encoder: H264Encoder): string[] {
  if (encoder === 'h264_nvenc') return ['-c:v', 'h264_nvenc', '-preset', 'p4', '-rc', 'cbr', '-forced-idr', '1'];
  return ['-c:v', 'libx264', '-threads:v', String(X264_SETTINGS.threads), '-preset', X264_SETTINGS.preset];
}

/**
 * ffmpeg arguments for ONE process that decodes the source once, splits it, scales and encodes
 * every rendition. Timestamps are kept from the source (`-copyts`), so renditions of consecutive
 * segments play back continuously and line up with the source rendition.
 */
export function ladderArgs(input: string, source: Pick<SegmentFacts, 'fps'>, outputs: readonly LadderOutput[], encoder: H264Encoder = 'libx264'): string[] {
  const n = outputs.length;
  const split = `[0:v:0]split=${n}${outputs.map((_, i) => `[s${i}]`).join('')}`;
  const chains = outputs.map(({ profile }, i) => {
    const fps = profile.fps ?? 30;
    const filters = [`scale=${profile.width}:${profile.height}:flags=bicubic`];
    if (source.fps > fps + 0.01) filters.push(`fps=${fps}`);
    return `[s${i}]${filters.join(',')}[o${i}]`;
  });
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-copyts', '-i', input,
    '-filter_complex', [split, ...chains].join(';'),
  ];
  outputs.forEach(({ profile, path }, i) => {
    const fps = Math.min(profile.fps ?? 30, source.fps || 30);
    const gop = String(Math.max(1, Math.round(fps * (profile.gop ?? 2))));
    const rate = String(profile.bitrate);
    args.push(
      '-map', `[o${i}]`, '-map', '0:a:0?',
      ...videoEncoderArgs(encoder),
      '-pix_fmt', 'yuv420p', '-profile:v', 'high',
      '-b:v', rate, '-maxrate', rate, '-bufsize', String(profile.bitrate * 2),
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', X264_SETTINGS.audioBitrate,
      '-flags', '+bitexact', '-fflags', '+bitexact',
      '-muxdelay', '0', '-f', 'mpegts', path,
    );
  });
  return args;
}
