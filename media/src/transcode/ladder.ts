import type { RenditionProfile, SegmentFacts } from '@segmint/protocol';

/** x264 settings of the verifiable profile (part of the encoder fingerprint). */
export type X264Settings = {
  preset: string;
  /** x264 threads (frame threads unless `params` says sliced-threads). */
  threads: number;
  /** Further x264 settings (`-x264-params`, `key=value:key=value`), if any. */
  params?: string;
  audioBitrate: string;
};

/**
 * The verifiable x264 profile (DESIGN step 5): one encoder thread per rendition, so the same input
 * gives the same bytes on any machine with the same ffmpeg build; parallelism comes from running
 * renditions (inside one process) and segments side by side instead.
 */
export const X264_SETTINGS: X264Settings = Object.freeze({
  preset: 'veryfast',
  threads: 1,
  // mb-tree's SIMD (mbtree_propagate_cost) divides with rcpps, an approximation whose last bits
  // differ between SIMD levels here (SSE2, AVX2, AVX-512 gave three outputs) and between CPU
  // vendors: off, x264 gives one output from SSSE3 up.
  params: 'mbtree=0',
  audioBitrate: '96k',
});

/**
 * Version of this argument layout; part of the encoder fingerprint. v2 (other bytes than v1):
 * bit-exact scaling, fps before scale, x264 without mb-tree, AAC decoded in fixed point.
 * v3: `-vsync passthrough` (every decoded frame encoded once, whatever its timestamp).
 */
export const LADDER_VERSION = 'ladder-v3';

/**
 * swscale flags: plain `bicubic` rounds differently in its C path (a CPU without x86 SIMD, or
 * another architecture) than in its SSE2–AVX2 paths; `accurate_rnd+bitexact` makes every path
 * give the same pixels (media/src/transcode/determinism.test.ts proves it per rendition).
 */
export const SCALE_FLAGS = 'bicubic+accurate_rnd+bitexact';

/** What the ladder needs to know of its source (SegmentFacts as the orchestrator read them). */
export type LadderSource = Pick<SegmentFacts, 'fps'> & Partial<Pick<SegmentFacts, 'audioCodec' | 'audio'>>;

export type LadderOutput = { profile: RenditionProfile; path: string };

/** H.264 encoders the ladder can use: x264 (deterministic, spot-checked by hash) or NVENC (GPU). */
export type H264Encoder = 'libx264' | 'h264_nvenc';

export type LadderOptions = {
  /** Default libx264 (the verifiable profile). */
  encoder?: H264Encoder;
  /**
   * Tests only: ffmpeg's global `-cpuflags` (`0` = plain C, `sse2`, `avx2`, …), also handed to x264
   * as its `asm` setting, to run the SIMD paths a CPU without them would not take.
   */
  cpuflags?: string;
  /** Tests and benchmarks only: other x264 settings than X264_SETTINGS. */
  x264?: X264Settings;
};

/** x264's own names for ffmpeg's cumulative x86 levels (x264 ignores ffmpeg's -cpuflags). */
function x264Asm(cpuflags: string): string {
  if (cpuflags === '0' || cpuflags === 'none') return '0';
  const names: Record<string, string> = { sse2: 'SSE2', sse3: 'SSE3', ssse3: 'SSSE3', sse4: 'SSE4.1', sse42: 'SSE4.2', avx: 'AVX', avx2: 'AVX2', neon: 'NEON', armv8: 'ARMv8' };
  const name = names[cpuflags];
  if (!name) throw new Error(`no x264 asm level for cpuflags ${cpuflags}`);
  return name;
}

/** Video encoder arguments for one rendition. NVENC is not bit-reproducible: checked by SSIM instead. */
function videoEncoderArgs(o: LadderOptions): string[] {
  if (o.encoder === 'h264_nvenc') return ['-c:v', 'h264_nvenc', '-preset', 'p4', '-rc', 'cbr', '-forced-idr', '1'];
  const x264 = o.x264 ?? X264_SETTINGS;
  const params = [x264.params, o.cpuflags === undefined ? undefined : `asm=${x264Asm(o.cpuflags)}`].filter(Boolean);
  return ['-c:v', 'libx264', '-threads:v', String(x264.threads), '-preset', x264.preset, ...(params.length ? ['-x264-params', params.join(':')] : [])];
}

/**
 * True when the rendition's frame rate is below the source's, so the ladder resamples it with
 * the fps filter; otherwise every source frame is encoded once (the checks rely on this).
 */
export function lowersFrameRate(profile: RenditionProfile, sourceFps: number): boolean {
  return sourceFps > (profile.fps ?? 30) + 0.01;
}

/**
 * One rendition's filters: fps first (frames it drops are never scaled; integer timestamp math),
 * then a bit-exact scale that also converts to yuv420p, so ffmpeg inserts no scaler of its own
 * (an auto-inserted one would use the default, not bit-exact, flags).
 */
export function renditionFilters(profile: RenditionProfile, sourceFps: number): string {
  const filters = lowersFrameRate(profile, sourceFps) ? [`fps=${profile.fps ?? 30}`] : [];
  filters.push(`scale=${profile.width}:${profile.height}:flags=${SCALE_FLAGS}`, 'format=yuv420p');
  return filters.join(',');
}

/**
 * ffmpeg arguments for ONE process that decodes the source once, splits it, scales and encodes
 * every rendition. Timestamps are kept from the source (`-copyts`), so renditions of consecutive
 * segments play back continuously and line up with the source rendition. Audio is never
 * resampled: the AAC encoder takes the source's rate and layout as they are (only the sample
 * format is converted, which is exact).
 */
export function ladderArgs(input: string, source: LadderSource, outputs: readonly LadderOutput[], options: LadderOptions = {}): string[] {
  const n = outputs.length;
  const split = `[0:v:0]split=${n}${outputs.map((_, i) => `[s${i}]`).join('')}`;
  const chains = outputs.map(({ profile }, i) => `[s${i}]${renditionFilters(profile, source.fps)}[o${i}]`);
  const x264 = options.x264 ?? X264_SETTINGS;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    ...(options.cpuflags === undefined ? [] : ['-cpuflags', options.cpuflags]),
    // AAC decoded in fixed point: the float decoder's NEON path (fused multiply-add) gives other
    // samples than its C path; aac_fixed gives the same on every SIMD level.
    ...(source.audioCodec === 'aac' ? ['-codec:a', 'aac_fixed'] : []),
    // Passthrough: every decoded frame is encoded once with its own timestamp. The default for
    // MPEG-TS (vfr) drops a frame that lands over half a frame behind its slot on the encoder's
    // 1/fps grid, so a live encoder's jittery or bunched timestamps cost frames, and how many
    // depends on timing the orchestrator cannot predict. The fps filter's output is already CFR.
    '-vsync', 'passthrough',
    '-copyts', '-i', input,
    '-filter_complex', [split, ...chains].join(';'),
  ];
  // An audio stream the PMT lists but no audio in it (a publisher's last segment, flushed under
  // load): ffmpeg cannot configure a decoder without a sample rate and fails the whole segment.
  const audio = source.audioCodec === undefined || source.audio !== undefined ? ['-map', '0:a:0?'] : [];
  outputs.forEach(({ profile, path }, i) => {
    const fps = Math.min(profile.fps ?? 30, source.fps || 30);
    const gop = String(Math.max(1, Math.round(fps * (profile.gop ?? 2))));
    const rate = String(profile.bitrate);
    args.push(
      '-map', `[o${i}]`, ...audio,
      ...videoEncoderArgs(options),
      '-pix_fmt', 'yuv420p', '-profile:v', 'high',
      '-b:v', rate, '-maxrate', rate, '-bufsize', String(profile.bitrate * 2),
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', x264.audioBitrate,
      '-flags', '+bitexact', '-fflags', '+bitexact',
      '-muxdelay', '0', '-f', 'mpegts', path,
    );
  });
  return args;
}
