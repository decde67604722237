import { cpus } from 'node:os';
import { encoderFingerprint, ffmpegPath, run, type H264Encoder } from '@segmint/media';
import type { Capabilities } from '@segmint/protocol';

/** H.264 encoders a worker can offer, best first. */
const H264_ENCODERS = ['h264_nvenc', 'libx264'] as const;

/** Tallest output each encoder is offered for (NVENC's H.264 limit is 4096 wide). */
const MAX_HEIGHT: Record<string, number> = { h264_nvenc: 2160, libx264: 2160 };

/**
 * Encoders that really work here: listed by `ffmpeg -encoders` AND able to encode one frame.
 * Listing alone lies (an NVENC build lists h264_nvenc on a machine without an NVIDIA GPU).
 */
export async function workingEncoders(ffmpeg = ffmpegPath()): Promise<string[]> {
  const listed = (await run(ffmpeg, ['-hide_banner', '-encoders'])).stdout.toString();
  const out: string[] = [];
  for (const encoder of H264_ENCODERS) {
    if (!new RegExp(`^\\s*V\\S*\\s+${encoder}\\s`, 'm').test(listed)) continue;
    const trial = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=256x144:d=0.04', '-frames:v', '1', '-c:v', encoder, '-f', 'null', '-'];
    try {
      await run(ffmpeg, trial, { timeoutMs: 20_000 });
      out.push(encoder);
    } catch {
      /* listed but not working: not offered */
    }
  }
  return out;
}

/** The encoder a worker transcodes with: NVENC when it really works, else x264. */
export async function preferredEncoder(): Promise<{ encoder: H264Encoder; encoders: H264Encoder[] }> {
  const encoders = (await workingEncoders()) as H264Encoder[];
  if (encoders.length === 0) throw new Error(`no working H.264 encoder in ${ffmpegPath()} (set FFMPEG_PATH to an ffmpeg with libx264)`);
  return { encoder: encoders[0]!, encoders };
}

/** What this worker offers the marketplace. `maxConcurrent`: segments at once (see calibrate). */
export async function probeCapabilities(maxConcurrent: number, found?: { encoder: H264Encoder; encoders: H264Encoder[] }): Promise<Capabilities> {
  const { encoder, encoders } = found ?? (await preferredEncoder());
  return {
    encoders,
    maxConcurrent,
    cores: cpus().length,
    maxHeight: Math.max(...encoders.map((e) => MAX_HEIGHT[e] ?? 1080)),
    fingerprint: await encoderFingerprint(encoder),
  };
}

/**
 * Test only: the fingerprint of an encoder announced as non-deterministic, as NVENC is (its
 * outputs then get quality checks against the source instead of hash comparisons). The encoder
 * field gets a marker, so no honest libx264 worker shares the fingerprint.
 */
export function markNondeterministic(fingerprint: string): string {
  const parts = fingerprint.split(';');
  parts[1] = `${parts[1]}+test-nondeterministic`;
  return parts.join(';');
}
