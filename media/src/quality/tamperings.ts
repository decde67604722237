/**
 * Renditions made the honest way by other encoders, presets, rate controls and ffmpeg builds
 * (stand-ins for NVENC), and tampered ones, to calibrate and test compareRenditions (tests and
 * benchmarks); in production only `encodeVariant`, for the quality check's honest second opinion
 * (secondOpinion.ts). The tamperings are filter-graph templates, so the
 * e2e fake-NVENC ffmpeg wrapper injects exactly the same ones into a worker's ladder.
 */
import type { RenditionProfile } from '@segmint/protocol';
import { ffmpegPath } from '../binaries.js';
import { run } from '../run.js';

export const TAMPERINGS = ['box', 'logo', 'blur', 'freeze', 'tint', 'drop', 'repeat', 'upscale', 'starve'] as const;
export type Tampering = (typeof TAMPERINGS)[number];

/**
 * Filter-graph template of each tampering, applied after the ladder's scale: `{IN}` and `{OUT}` are
 * the chain's labels, `{K}` makes inner labels unique, `{W}`×`{H}` the rendition, `{LW}`×`{LH}`
 * the logo, `{BR}` the blur radius. `starve` is a rate change (a tenth of the bitrate), not a filter.
 */
export const TAMPER_GRAPHS: Record<Tampering, string> = {
  // A filled red box over 1 % of the picture (a tenth of each side).
  box: '{IN}drawbox=x=iw*11/20:y=ih*11/20:w=iw/10:h=ih/10:color=red@1:t=400{OUT}',
  // A still image (colour bars, a tenth of each side) in the top-right corner.
  logo: 'smptebars=s={LW}x{LH}:r=1,trim=end_frame=1[lg{K}];{IN}[lg{K}]overlay=x=W-w-W/40:y=H/40:eof_action=repeat{OUT}',
  // A sixteenth of the picture, at its centre (where a picture's subject usually is: blurring a
  // region with nothing in it hides nothing), box-blurred.
  blur: '{IN}split[a{K}][b{K}];[b{K}]crop=iw/4:ih/4:iw*3/8:ih*3/8,boxblur={BR}:2[c{K}];[a{K}][c{K}]overlay=W*3/8:H*3/8{OUT}',
  // A sixteenth of the picture (centre) held at the segment's first frame.
  freeze: '{IN}split[a{K}][b{K}];[b{K}]crop=iw/4:ih/4:iw*3/8:ih*3/8,trim=end_frame=1[c{K}];[a{K}][c{K}]overlay=W*3/8:H*3/8:eof_action=repeat{OUT}',
  // A sixteenth of the picture (upper right) with its hue turned by 90° and saturation raised.
  tint: '{IN}split[a{K}][b{K}];[b{K}]crop=iw/4:ih/4:iw*5/8:ih/8,hue=h=90:s=1.5[c{K}];[a{K}][c{K}]overlay=W*5/8:H/8{OUT}',
  // Every 6th frame left out (a sixth less work).
  drop: '{IN}select=not(eq(mod(n\\,6)\\,3)){OUT}',
  // Every 2nd frame replaced by the one before it (same frame count, half the motion).
  repeat: '{IN}shuffleframes=0 0{OUT}',
  // Scaled down to half each side and back up (a quarter of the pixels encoded).
  upscale: '{IN}scale=trunc(iw/4)*2:trunc(ih/4)*2,scale={W}:{H}:flags=bicubic{OUT}',
  starve: '{IN}null{OUT}',
};

/** Bitrate factor of each tampering (starved: a tenth). */
export const tamperBitrateFactor = (t: Tampering | undefined): number => (t === 'starve' ? 0.1 : 1);

/** Fills a tampering template for one rendition chain. */
export function tamperGraph(t: Tampering, p: { width: number; height: number; inLabel: string; outLabel: string; key: string | number }): string {
  const fill: Record<string, string> = {
    IN: p.inLabel, OUT: p.outLabel, K: String(p.key), W: String(p.width), H: String(p.height),
    LW: String(2 * Math.round(p.width / 20)), LH: String(2 * Math.round(p.height / 20)), BR: String(Math.max(2, Math.round(p.height / 48))),
  };
  return TAMPER_GRAPHS[t].replace(/\{(\w+)\}/g, (_, k: string) => fill[k] ?? `{${k}}`);
}

/** An honest encoder configuration other than the ladder's own, or a tampering. */
export type EncodeVariant = {
  name: string;
  /** ffmpeg binary; default ffmpegPath(). */
  bin?: string;
  preset?: string;
  /** × the profile's bitrate (honest: within ±20 %). */
  bitrateFactor?: number;
  /** abr: the ladder's (b = maxrate); crf: CRF 23 capped at the bitrate; cbr: x264 nal-hrd CBR. */
  rateControl?: 'abr' | 'crf' | 'cbr';
  /** x264 threads (the ladder uses 1). */
  threads?: number;
  tune?: string;
  tamper?: Tampering;
  /** Through another codec first (Debian's MPEG-4 part 2 at q 3, full size): a second generation of loss. */
  intermediate?: 'mpeg4';
};

const LADDER_ENCODE = { preset: 'veryfast', threads: 1 };

/** Honest stand-ins for a non-bit-exact encoder (NVENC is not available here). */
export function honestVariants(): EncodeVariant[] {
  const debian = '/usr/bin/ffmpeg';
  return [
    { name: 'x264 ultrafast', preset: 'ultrafast' },
    { name: 'fake NVENC (ultrafast, threads)', preset: 'ultrafast', threads: 0 },
    { name: 'x264 superfast', preset: 'superfast' },
    { name: 'x264 faster', preset: 'faster' },
    { name: 'x264 fast', preset: 'fast' },
    { name: 'x264 medium', preset: 'medium' },
    { name: 'x264 veryfast −20 %', bitrateFactor: 0.8 },
    { name: 'x264 veryfast +20 %', bitrateFactor: 1.2 },
    { name: 'x264 CRF 23', rateControl: 'crf' },
    { name: 'x264 CBR', rateControl: 'cbr' },
    { name: 'x264 zerolatency threads', tune: 'zerolatency', threads: 0 },
    { name: 'Debian ffmpeg veryfast', bin: debian },
    { name: 'Debian ffmpeg ultrafast', bin: debian, preset: 'ultrafast' },
    { name: 'Debian ffmpeg medium', bin: debian, preset: 'medium' },
    { name: 'Debian MPEG-4 then x264', bin: debian, intermediate: 'mpeg4' },
  ];
}

/**
 * The honest variants that came closest to a threshold in calibration (bench/qualityCalibrate.ts):
 * the short list the benchmark and the unit tests run.
 */
export function closestHonestVariants(): EncodeVariant[] {
  const names = ['x264 ultrafast', 'fake NVENC (ultrafast, threads)', 'x264 veryfast −20 %', 'x264 CRF 23', 'x264 zerolatency threads', 'Debian ffmpeg ultrafast', 'Debian MPEG-4 then x264'];
  return honestVariants().filter((v) => names.includes(v.name));
}

/** Encoder arguments of a variant for a profile (the ladder's GOP and rate layout otherwise). */
function encodeArgs(v: EncodeVariant, profile: RenditionProfile, fps: number): string[] {
  const rate = Math.round(profile.bitrate * (v.bitrateFactor ?? 1) * tamperBitrateFactor(v.tamper));
  const gop = String(Math.max(1, Math.round(fps * (profile.gop ?? 2))));
  const rc = v.rateControl === 'crf'
    ? ['-crf', '23', '-maxrate', String(rate), '-bufsize', String(rate * 2)]
    : v.rateControl === 'cbr'
      ? ['-b:v', String(rate), '-minrate', String(rate), '-maxrate', String(rate), '-bufsize', String(rate), '-x264-params', 'nal-hrd=cbr']
      : ['-b:v', String(rate), '-maxrate', String(rate), '-bufsize', String(rate * 2)];
  return [
    '-c:v', 'libx264', '-preset', v.preset ?? LADDER_ENCODE.preset, '-threads:v', String(v.threads ?? LADDER_ENCODE.threads),
    ...(v.tune ? ['-tune', v.tune] : []),
    '-pix_fmt', 'yuv420p', '-profile:v', 'high', ...rc, '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
  ];
}

/** Encodes one rendition of `input` with a variant (scale as the ladder does, then any tampering). */
export async function encodeVariant(p: { input: string; profile: RenditionProfile; sourceFps: number; variant: EncodeVariant; out: string }): Promise<void> {
  const { profile, variant } = p;
  const fps = Math.min(profile.fps ?? 30, p.sourceFps || 30);
  const scale = `scale=${profile.width}:${profile.height}:flags=bicubic${p.sourceFps > fps + 0.01 ? `,fps=${fps}` : ''}`;
  const graph = variant.tamper
    ? `[0:v:0]${scale}[t0];${tamperGraph(variant.tamper, { width: profile.width, height: profile.height, inLabel: '[t0]', outLabel: '[o0]', key: 0 })}`
    : `[0:v:0]${scale}[o0]`;
  const input = variant.intermediate ? `${p.out}.mpeg4.ts` : p.input;
  if (variant.intermediate) {
    await run(variant.bin ?? ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-copyts', '-i', p.input, '-map', '0:v:0', '-an',
      '-vsync', 'passthrough', '-c:v', 'mpeg4', '-q:v', '3', '-muxdelay', '0', '-f', 'mpegts', input,
    ], { timeoutMs: 120_000 });
  }
  await run(variant.bin ?? ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-copyts', '-i', input,
    '-filter_complex', graph, '-map', '[o0]', '-an',
    ...encodeArgs(variant, profile, fps),
    '-muxdelay', '0', '-f', 'mpegts', p.out,
  ], { timeoutMs: 120_000 });
}
