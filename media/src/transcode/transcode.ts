import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ffmpegPath } from '../binaries.js';
import { run } from '../run.js';
import { segmentFacts } from '../mpegts.js';
import { SegmintError, type RenditionProfile, type RenditionResult, type SegmentFacts } from '@segmint/protocol';
import { ladderArgs, LADDER_VERSION, X264_SETTINGS, type H264Encoder, type LadderSource, type X264Settings } from './ladder.js';

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
  source: LadderSource;
  profiles: readonly RenditionProfile[];
  outDir: string;
  /** Default libx264 (the verifiable profile). */
  encoder?: H264Encoder;
  /** Default ffmpegPath(); tests run other builds (the arm64 one under qemu) through this. */
  ffmpeg?: string;
  /** Tests only: ffmpeg's `-cpuflags` (and x264's asm level), see LadderOptions. */
  cpuflags?: string;
  /** Tests and benchmarks only: other x264 settings than X264_SETTINGS. */
  x264?: X264Settings;
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
    const args = ladderArgs(fromStream ? 'pipe:0' : (p.input as string), p.source, outputs, { encoder: p.encoder, cpuflags: p.cpuflags, x264: p.x264 });
    await run(p.ffmpeg ?? ffmpegPath(), args, {
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

const fingerprints = new Map<string, Promise<string>>();

export type EncoderFingerprintOptions = {
  /** Default ffmpegPath(). */
  ffmpeg?: string;
  /** The CPU architecture the build runs on; default process.arch (tests set arm64 for qemu). */
  arch?: string;
  /** Tests only: the `-cpuflags` level the results were made at (default: what this CPU has). */
  cpuflags?: string;
  /** Benchmarks only: the fingerprint of other x264 settings than X264_SETTINGS. */
  x264?: X264Settings;
};

/**
 * ffmpeg build + encoder + settings + ladder version + CPU architecture and SIMD class, e.g.
 * `ffmpeg/N-47683-g0e8eb07980-static@a9255a4ef587;libx264;x264=157-r2935-545de2f;preset=veryfast;threads=1;params=mbtree=0;ladder-v3;arch=x64;simd=ssse3`.
 * Two results with the same fingerprint must hash the same (compared bit for bit); any other
 * pair is not comparable by hash. The build is named by its version and a short sha256 of its
 * whole `-version` output (configuration and library versions: two builds of one version differ
 * there), and for x264 by the x264 build it writes into its own output (a shared libx264 can
 * change under an unchanged ffmpeg). Computed once per binary and architecture.
 */
export function encoderFingerprint(encoder: H264Encoder = 'libx264', o: EncoderFingerprintOptions = {}): Promise<string> {
  const bin = o.ffmpeg ?? ffmpegPath();
  const arch = o.arch ?? process.arch;
  const x264 = o.x264 ?? X264_SETTINGS;
  const simd = simdClass(arch, o.cpuflags);
  const key = `${bin}|${encoder}|${arch}|${simd}|${JSON.stringify(x264)}`;
  let fp = fingerprints.get(key);
  if (!fp) {
    fp = computeFingerprint(bin, encoder, `${arch};simd=${simd}`, x264);
    fingerprints.set(key, fp);
    fp.catch(() => fingerprints.delete(key)); // a failed probe is retried next time
  }
  return fp;
}

async function computeFingerprint(bin: string, encoder: H264Encoder, arch: string, x264: X264Settings): Promise<string> {
  const versionText = (await run(bin, ['-version'], { timeoutMs: 30_000 })).stdout.toString();
  const version = versionText.split('\n')[0]?.split(' ')[2] ?? 'unknown';
  const build = createHash('sha256').update(versionText).digest('hex').slice(0, 12);
  const settings = encoder === 'libx264'
    ? `libx264;x264=${await x264Build(bin)};preset=${x264.preset};threads=${x264.threads}${x264.params ? `;params=${x264.params}` : ''}`
    : 'h264_nvenc;preset=p4;rc=cbr';
  return `ffmpeg/${version}@${build};${settings};${LADDER_VERSION};arch=${arch}`;
}

/**
 * Which of x264's decision paths a CPU takes: on x86-64 x264 from SSSE3 up decides intra modes
 * otherwise than below it (measured on one intra frame at fixed QP; most likely its `intra_*_x9`
 * routines, which exist only from SSSE3 up and break ties otherwise than its C path), so a CPU
 * without SSSE3 (or `-cpuflags` below it) gives other bytes; from SSSE3 to AVX-512 the same.
 * On arm64 (always NEON) the AAC encoder's NEON path differs from its C path.
 */
export function simdClass(arch: string, cpuflags?: string): string {
  if (arch === 'x64') {
    const level = cpuflags ?? (cpuHasSsse3() ? 'ssse3' : 'sse2');
    return ['0', 'none', 'sse2', 'sse3'].includes(level) ? 'base' : 'ssse3';
  }
  if (cpuflags === '0' || cpuflags === 'none') return 'c';
  return arch === 'arm64' ? 'neon' : 'default';
}

/** Linux says in /proc/cpuinfo; elsewhere assume an x86-64 CPU of the last fifteen years. */
function cpuHasSsse3(): boolean {
  try {
    return /\bssse3\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return true;
  }
}

/** x264's core number, revision and commit, read from the SEI it writes into one encoded frame. */
async function x264Build(bin: string): Promise<string> {
  const { stdout } = await run(bin, [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=64x64:d=0.04',
    '-frames:v', '1', '-c:v', 'libx264', '-threads', '1', '-f', 'h264', 'pipe:1',
  ], { timeoutMs: 30_000 });
  const m = /x264 - core (\d+) r(\d+) ([0-9a-f]+)/.exec(stdout.toString('latin1'));
  return m ? `${m[1]}-r${m[2]}-${m[3]}` : 'unknown';
}

/** The encoder named in a fingerprint (its second field), e.g. `libx264` or `h264_nvenc`. */
export function fingerprintEncoder(fingerprint: string): string {
  return fingerprint.split(';')[1] ?? '';
}
