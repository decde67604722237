import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';
import { ffmpegPath } from '../binaries.js';
import { run } from '../run.js';
import { segmentFacts } from '../mpegts.js';
import { testSourceEncodeArgs } from '../testSource.js';
import { encoderFingerprint, transcodeSegment } from './transcode.js';
import { renditionFilters, X264_SETTINGS, type X264Settings } from './ladder.js';

/*
 * What the determinism test and `npm run determinism` share: the machines to compare (SIMD levels
 * through -cpuflags, the npm arm64 build under qemu-user), the sources, and one ladder run.
 */

/** One way to run ffmpeg: a build on an architecture at a SIMD level (undefined = all it has). */
export type Machine = { name: string; ffmpeg: string; arch: string; cpuflags?: string };

/** Where `make install` puts the npm arm64 build (determinism/arm64, installed apart). */
export const ARM64_FFMPEG = fileURLToPath(new URL('../../../determinism/arm64/node_modules/@ffmpeg-installer/linux-arm64/ffmpeg', import.meta.url));
export const QEMU_AARCH64 = '/usr/bin/qemu-aarch64-static';

/** x86-64 SIMD levels this CPU can run, lowest first: plain C, SSE2, AVX2 (if present), everything. */
export function x64Machines(ffmpeg = ffmpegPath()): Machine[] {
  if (process.arch !== 'x64') return [{ name: `${process.arch}/default`, ffmpeg, arch: process.arch }];
  const cpu = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const levels = ['0', 'sse2', 'ssse3', ...(/\bavx2\b/.test(cpu) ? ['avx2'] : [])];
  return [...levels.map((cpuflags) => ({ name: `x64/${cpuflags === '0' ? 'c' : cpuflags}`, ffmpeg, arch: 'x64', cpuflags })), { name: 'x64/default', ffmpeg, arch: 'x64' }];
}

/**
 * The arm64 build under qemu-aarch64-static (plain C and NEON), through a wrapper script in `dir`,
 * or [] with the reason when qemu or the build is missing (`make install` brings both).
 */
export async function arm64Machines(dir: string): Promise<{ machines: Machine[]; missing?: string }> {
  if (process.arch === 'arm64') return { machines: [] };
  if (!existsSync(QEMU_AARCH64)) return { machines: [], missing: `${QEMU_AARCH64} (Debian's qemu-user-static)` };
  if (!existsSync(ARM64_FFMPEG)) return { machines: [], missing: `${ARM64_FFMPEG} (make install)` };
  await mkdir(dir, { recursive: true });
  const ffmpeg = join(dir, 'ffmpeg-arm64.sh');
  await writeFile(ffmpeg, `#!/bin/sh\nexec ${QEMU_AARCH64} "${ARM64_FFMPEG}" "$@"\n`);
  await chmod(ffmpeg, 0o755);
  return { machines: [{ name: 'arm64/c', ffmpeg, arch: 'arm64', cpuflags: '0' }, { name: 'arm64/default', ffmpeg, arch: 'arm64' }] };
}

export type SourceKind = 'pattern' | 'camera';
/** `rate` as lavfi takes it: `30`, `30000/1001`. */
export type SourceSpec = { name: string; kind: SourceKind; width: number; height: number; rate: string; seconds: number; sampleRate?: number; channels?: number };

const rateValue = (rate: string) => rate.split('/').map(Number).reduce((a, b) => a / b);

/**
 * lavfi video for a source: `pattern` is testsrc2 (flat colours, sharp edges); `camera` adds what a
 * real sensor gives, temporal noise on every plane over moving detail, so that no block is flat
 * and every SIMD path of scaler and encoder gets work.
 */
function videoFilter(s: SourceSpec): string {
  const base = `testsrc2=size=${s.width}x${s.height}:rate=${s.rate}`;
  return s.kind === 'camera' ? `${base},noise=c0s=14:c0f=t+u:c1s=8:c1f=t+u:c2s=8:c2f=t+u` : base;
}

/** Writes one MPEG-TS source segment (H.264 + AAC, as a live encoder would push it); returns its path. */
export async function makeSource(dir: string, s: SourceSpec): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${s.name}.ts`);
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', videoFilter(s),
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${s.sampleRate ?? 48_000}`,
    '-t', String(s.seconds),
    ...testSourceEncodeArgs({ fps: rateValue(s.rate), gopSec: s.seconds }),
    '-ac', String(s.channels ?? 2), '-f', 'mpegts', path,
  ], { timeoutMs: 120_000 });
  return path;
}

/** The default ladder capped to a source, as a stream without its own profiles gets it. */
export function defaultLadder(width: number, height: number) {
  return capProfiles(DEFAULT_PROFILES, { width, height });
}

export type LadderRun = { machine: Machine; fingerprint: string; renditions: { name: string; fileSha256: string; videoSha256: string }[]; ms: number };

/** Runs the default ladder on `source` on one machine; hashes each rendition's whole file and its video. */
export async function runLadder(source: string, machine: Machine, outDir: string, x264?: X264Settings): Promise<LadderRun> {
  const buf = readFileSync(source);
  const facts = segmentFacts(buf);
  await mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  const out = await transcodeSegment({
    input: source, source: facts, profiles: defaultLadder(facts.width, facts.height), outDir,
    ffmpeg: machine.ffmpeg, cpuflags: machine.cpuflags, x264, timeoutMs: 600_000,
  });
  const ms = performance.now() - t0;
  const fingerprint = await encoderFingerprint('libx264', { ffmpeg: machine.ffmpeg, arch: machine.arch, cpuflags: machine.cpuflags, x264 });
  const renditions = out.renditions.map((r) => ({ name: r.name, fileSha256: createHash('sha256').update(r.data).digest('hex'), videoSha256: r.sha256 }));
  return { machine, fingerprint, renditions, ms };
}

/** x264 settings to compare with the adopted ones (npm run determinism -- --profile NAME, npm run bench:x264). */
export const X264_CANDIDATES: Record<string, X264Settings> = {
  current: X264_SETTINGS,
  'frame-threads-2': { ...X264_SETTINGS, threads: 2 },
  /** Sliced threads: one frame split among two threads. */
  'sliced-threads-2': { ...X264_SETTINGS, threads: 2, params: 'mbtree=0:sliced-threads=1' },
  /** No VBV lookahead: rate control plans from past frames only. */
  'no-lookahead': { ...X264_SETTINGS, params: 'mbtree=0:rc-lookahead=0' },
  /** Two frame threads that cannot race the lookahead: no VBV lookahead, lookahead in-thread. */
  'frame-threads-2-no-lookahead': { ...X264_SETTINGS, threads: 2, params: 'mbtree=0:rc-lookahead=0:sync-lookahead=0' },
  /** ladder-v1's x264 settings (mb-tree on): shows what the check catches. */
  'mbtree-on': { preset: X264_SETTINGS.preset, threads: X264_SETTINGS.threads, audioBitrate: X264_SETTINGS.audioBitrate },
};

/**
 * md5 of every frame of each rendition's filter output (decode, fps, scale; no encoder): the
 * bit-exactness of the filters alone, comparable between builds whose encoders differ.
 */
export async function filteredFrameHashes(source: string, machine: Machine): Promise<Record<string, string>> {
  const facts = segmentFacts(readFileSync(source));
  const out: Record<string, string> = {};
  for (const p of defaultLadder(facts.width, facts.height)) {
    const { stdout } = await run(machine.ffmpeg, [
      '-hide_banner', '-loglevel', 'error', ...(machine.cpuflags === undefined ? [] : ['-cpuflags', machine.cpuflags]),
      '-i', source, '-map', '0:v:0', '-vf', renditionFilters(p, facts.fps), '-f', 'framemd5', '-',
    ], { timeoutMs: 600_000 });
    const lines = stdout.toString().split('\n').filter((l) => l && !l.startsWith('#'));
    out[p.name] = createHash('sha256').update(lines.map((l) => l.split(',').pop()!.trim()).join('\n')).digest('hex');
  }
  return out;
}
