import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpegPath } from './binaries.js';
import { run } from './run.js';

export type GenerateSegmentsParameters = {
  dir: string;
  /** Number of segments; total length = count × segmentSec. */
  count: number;
  segmentSec?: number;
  width?: number;
  height?: number;
  fps?: number;
};

/** ffmpeg input arguments for the built-in test source: lavfi testsrc2 picture + sine tone. */
export function testSourceInputArgs(p: { width: number; height: number; fps: number; seconds?: number }): string[] {
  const t = p.seconds === undefined ? [] : ['-t', String(p.seconds)];
  return [
    '-f', 'lavfi', '-i', `testsrc2=size=${p.width}x${p.height}:rate=${p.fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    ...t,
  ];
}

/** H.264 + AAC encode arguments with a fixed GOP of `gopSec`, so segments cut on keyframes. */
export function testSourceEncodeArgs(p: { fps: number; gopSec: number }): string[] {
  const gop = String(Math.round(p.fps * p.gopSec));
  return [
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-b:v', '4M',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
  ];
}

/**
 * Writes `count` MPEG-TS segments of the test source (timestamps continuous across segments,
 * as a live segmenter produces) to `dir` as 0.ts, 1.ts, …; returns their paths in order.
 */
export async function generateSegments(p: GenerateSegmentsParameters): Promise<string[]> {
  const { dir, count, segmentSec = 2, width = 1280, height = 720, fps = 30 } = p;
  await mkdir(dir, { recursive: true });
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    ...testSourceInputArgs({ width, height, fps, seconds: count * segmentSec }),
    ...testSourceEncodeArgs({ fps, gopSec: segmentSec }),
    '-f', 'segment', '-segment_time', String(segmentSec), '-segment_format', 'mpegts',
    '-reset_timestamps', '0',
    join(dir, '%d.ts'),
  ], { timeoutMs: 120_000 });
  const files = (await readdir(dir)).filter((f) => /^\d+\.ts$/.test(f));
  return files.sort((a, b) => parseInt(a) - parseInt(b)).map((f) => join(dir, f));
}
