import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpegPath } from '../binaries.js';
import { run } from '../run.js';
import { testSourceEncodeArgs } from '../testSource.js';

/**
 * Generated content to calibrate and test the quality check on (test and benchmark helpers):
 * synthetic patterns, and camera-like pictures (fine detail, sensor-like temporal grain, motion),
 * the content where encoders differ most.
 */
export const CONTENTS = ['testsrc2', 'bars', 'zoom', 'pan', 'dark', 'fast', 'grain', 'life'] as const;
export type Content = (typeof CONTENTS)[number];
/** @deprecated the camera-like subset of Content. */
export type CameraMotion = 'zoom' | 'pan';

type Size = { width: number; height: number; fps: number };

/** A pan over a still fractal (1.5× the picture), `speed` × a slow sway. */
function pan(p: Size, speed: number, grain: string, extra = ''): string {
  const { width: w, height: h, fps } = p;
  const W = Math.round(w * 1.5 / 2) * 2, H = Math.round(h * 1.5 / 2) * 2;
  // One fractal frame (r=1: the source is pulled once, not rendered at the output's rate), looped.
  return `mandelbrot=s=${W}x${H}:r=1:maxiter=120:start_x=-0.7435:start_y=0.1314:start_scale=0.02:end_scale=0.02,`
    + `trim=end_frame=1,loop=loop=-1:size=1:start=0,settb=AVTB,setpts=N/${fps}/TB,fps=${fps},`
    + `crop=${w}:${h}:x='${(W - w) / 2}+${(W - w) / 2 - 1}*sin(${speed}*t)':y='${(H - h) / 2}+${(H - h) / 2 - 1}*cos(${speed}*t*0.7)',${grain}${extra}`;
}

/**
 * lavfi picture of each content: `testsrc2` and `bars` (SMPTE HD bars, still) patterns; `zoom` a
 * slow fractal zoom with grain; `pan` a pan over a fractal with grain; `dark` the pan dim and low
 * in contrast with heavier grain (a night scene); `fast` the pan 6× faster (high motion); `grain`
 * the test pattern under heavy temporal grain; `life` a coarse cellular automaton (hard edges
 * changing every frame).
 */
export function contentFilter(content: Content, p: Size): string {
  const { width: w, height: h, fps } = p;
  const grain = 'noise=alls=12:allf=t+u';
  switch (content) {
    case 'testsrc2': return `testsrc2=s=${w}x${h}:r=${fps}`;
    case 'bars': return `smptehdbars=s=${w}x${h}:r=${fps}`;
    // end_pts counts frames: a slow zoom (over 30 s) into the boundary, so every segment has detail.
    case 'zoom': return `mandelbrot=s=${w}x${h}:r=${fps}:maxiter=200:start_x=-0.7435:start_y=0.1314:start_scale=0.3:end_scale=0.01:end_pts=${30 * fps},${grain},eq=saturation=0.6`;
    case 'pan': return pan(p, 1, grain);
    case 'dark': return pan(p, 1, 'noise=alls=20:allf=t+u', ',eq=brightness=-0.25:contrast=0.5');
    case 'fast': return pan(p, 6, grain);
    case 'grain': return `testsrc2=s=${w}x${h}:r=${fps},noise=alls=30:allf=t+u`;
    case 'life': return `life=s=${Math.round(w / 8)}x${Math.round(h / 8)}:r=${fps}:mold=10:ratio=0.2:seed=7:life_color=#f0c040:death_color=#203060:mold_color=#604020,scale=${w}:${h}:flags=neighbor,format=yuv420p`;
  }
}

/** lavfi picture of a fractal zoom or a pan over a still fractal, with temporal grain. */
export function cameraSourceFilter(motion: CameraMotion, p: Size & { seconds?: number }): string {
  return contentFilter(motion, p);
}

/** Writes `count` MPEG-TS segments (continuous timestamps, video only) of one content. */
export async function generateContentSegments(p: { dir: string; count: number; content: Content; segmentSec?: number; width?: number; height?: number; fps?: number }): Promise<string[]> {
  const { dir, count, content, segmentSec = 2, width = 1280, height = 720, fps = 30 } = p;
  await mkdir(dir, { recursive: true });
  const seconds = count * segmentSec;
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', contentFilter(content, { width, height, fps }), '-t', String(seconds),
    ...testSourceEncodeArgs({ fps, gopSec: segmentSec }).filter((a, i, all) => !['-c:a', '-b:a', '-ac'].includes(a) && !['-c:a', '-b:a', '-ac'].includes(all[i - 1]!)),
    '-an', '-f', 'segment', '-segment_time', String(segmentSec), '-segment_format', 'mpegts', '-reset_timestamps', '0',
    join(dir, '%d.ts'),
  ], { timeoutMs: 300_000 + seconds * 20_000 });
  const files = (await readdir(dir)).filter((f) => /^\d+\.ts$/.test(f));
  return files.sort((a, b) => parseInt(a) - parseInt(b)).map((f) => join(dir, f));
}

/** Writes `count` MPEG-TS segments of camera-like content (a zoom or a pan). */
export async function generateCameraSegments(p: { dir: string; count: number; motion: CameraMotion; segmentSec?: number; width?: number; height?: number; fps?: number }): Promise<string[]> {
  const { motion, ...rest } = p;
  return generateContentSegments({ ...rest, content: motion });
}
