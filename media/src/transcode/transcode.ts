import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ffmpegPath } from '../binaries.js';
import { run } from '../run.js';
import { segmentFacts } from '../mpegts.js';
import { SegmintError, type RenditionProfile, type RenditionResult, type SegmentFacts } from '@segmint/protocol';
import { ladderArgs, LADDER_VERSION, X264_SETTINGS, type H264Encoder } from './ladder.js';

/** ffmpeg failed on a segment. Retryable: another attempt (maybe on another worker) may succeed. */
export class TranscodeError extends SegmintError {
  override name = 'TranscodeError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TRANSCODE_FAILED', message, { ...options, retryable: true });
  }
}

export type TranscodeSegmentParameters = {
  /** A file, or a stream of the segment's bytes (piped to ffmpeg while it downloads). */
  input: string | Readable;
  source: Pick<SegmentFacts, 'fps'>;
  profiles: readonly RenditionProfile[];
  outDir: string;
  /** Default libx264 (the verifiable profile). */
  encoder?: H264Encoder;
  timeoutMs?: number;
  signal?: AbortSignal;
};

export type TranscodeSegmentReturnType = {
  /** Facts per rendition, with the output file and its bytes (already read for the facts). */
  renditions: (RenditionResult & { path: string; data: Buffer })[];
  transcodeMs: number;
};

/** Transcodes one segment into every rendition with one ffmpeg process; reads each output's facts. */
export async function transcodeSegment(p: TranscodeSegmentParameters): Promise<TranscodeSegmentReturnType> {
  const outputs = p.profiles.map((profile) => ({ profile, path: join(p.outDir, `${profile.name}.ts`) }));
  const started = performance.now();
  try {
    const fromStream = typeof p.input !== 'string';
    await run(ffmpegPath(), ladderArgs(fromStream ? 'pipe:0' : (p.input as string), p.source, outputs, p.encoder), {
      input: fromStream ? (p.input as Readable) : undefined,
      timeoutMs: p.timeoutMs ?? 120_000,
      signal: p.signal,
    });
  } catch (err) {
    throw new TranscodeError('ffmpeg could not transcode the segment', { cause: err });
  }
  const transcodeMs = performance.now() - started;
  const renditions = await Promise.all(
    outputs.map(async ({ profile, path }) => {
      const bytes = await readFile(path);
      const facts = segmentFacts(bytes);
      return {
        name: profile.name,
        sha256: facts.videoSha256,
        ...(facts.audio ? { audioSha256: facts.audio.sha256 } : {}),
        width: facts.width,
        height: facts.height,
        frames: facts.frames,
        durationSec: facts.durationSec,
        bytes: bytes.length,
        path,
        data: bytes,
      };
    }),
  );
  return { renditions, transcodeMs };
}

const ffmpegVersion = new Map<string, Promise<string>>();

/**
 * ffmpeg build + encoder + settings. Two results with the same fingerprint must hash the same
 * (the spot-check compares them bit for bit); NVENC ones are compared by SSIM instead.
 */
export function encoderFingerprint(encoder: H264Encoder = 'libx264'): Promise<string> {
  const bin = ffmpegPath();
  let version = ffmpegVersion.get(bin);
  if (!version) {
    version = run(bin, ['-version']).then(({ stdout }) => stdout.toString().split('\n')[0]?.split(' ')[2] ?? 'unknown');
    ffmpegVersion.set(bin, version);
  }
  const settings = encoder === 'libx264' ? `libx264;preset=${X264_SETTINGS.preset};threads=${X264_SETTINGS.threads}` : 'h264_nvenc;preset=p4;rc=cbr';
  return version.then((v) => `ffmpeg/${v};${settings};${LADDER_VERSION}`);
}
