import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpegPath } from '../binaries.js';
import { run } from '../run.js';
import { testSourceEncodeArgs } from '../testSource.js';

/** Camera-like test content: fine detail with sensor-like grain, moving (a zoom or a pan). */
export type CameraMotion = 'zoom' | 'pan';

/** lavfi picture of a fractal zoom or a pan over a still fractal, with temporal grain. */
export function cameraSourceFilter(motion: CameraMotion, p: { width: number; height: number; fps: number; seconds: number }): string {
  const { width: w, height: h, fps } = p;
  const grain = 'noise=alls=12:allf=t+u';
  if (motion === 'zoom') {
    // end_pts counts frames: a slow zoom (over 30 s) into the boundary, so every segment has detail.
    return `mandelbrot=s=${w}x${h}:r=${fps}:maxiter=200:start_x=-0.7435:start_y=0.1314:start_scale=0.3:end_scale=0.01:end_pts=${30 * fps},${grain},eq=saturation=0.6`;
  }
  const W = Math.round(w * 1.5 / 2) * 2, H = Math.round(h * 1.5 / 2) * 2;
  return `mandelbrot=s=${W}x${H}:r=${fps}:maxiter=120:start_x=-0.7435:start_y=0.1314:start_scale=0.02:end_scale=0.02,`
    + `trim=end_frame=1,loop=loop=-1:size=1:start=0,setpts=N/${fps}/TB,`
    + `crop=${w}:${h}:x='${(W - w) / 2}+${(W - w) / 2 - 1}*sin(t)':y='${(H - h) / 2}+${(H - h) / 2 - 1}*cos(t*0.7)',${grain}`;
}

/** Writes `count` MPEG-TS segments (continuous timestamps, video only) of camera-like content. */
export async function generateCameraSegments(p: { dir: string; count: number; motion: CameraMotion; segmentSec?: number; width?: number; height?: number; fps?: number }): Promise<string[]> {
  const { dir, count, motion, segmentSec = 2, width = 1280, height = 720, fps = 30 } = p;
  await mkdir(dir, { recursive: true });
  const seconds = count * segmentSec;
  await run(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', cameraSourceFilter(motion, { width, height, fps, seconds }), '-t', String(seconds),
    ...testSourceEncodeArgs({ fps, gopSec: segmentSec }).filter((a, i, all) => !['-c:a', '-b:a', '-ac'].includes(a) && !['-c:a', '-b:a', '-ac'].includes(all[i - 1]!)),
    '-an', '-f', 'segment', '-segment_time', String(segmentSec), '-segment_format', 'mpegts', '-reset_timestamps', '0',
    join(dir, '%d.ts'),
  ], { timeoutMs: 300_000 });
  const files = (await readdir(dir)).filter((f) => /^\d+\.ts$/.test(f));
  return files.sort((a, b) => parseInt(a) - parseInt(b)).map((f) => join(dir, f));
}
