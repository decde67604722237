import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Makes sure a shipped binary is executable (npm may skip the package's chmod postinstall). */
function executable(path: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    chmodSync(path, 0o755);
  }
  return path;
}

let ffmpeg: string | undefined;
let ffprobe: string | undefined;

/** ffmpeg binary: `FFMPEG_PATH`, else the static build shipped by @ffmpeg-installer/ffmpeg. */
export function ffmpegPath(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  ffmpeg ??= executable((require('@ffmpeg-installer/ffmpeg') as { path: string }).path);
  return ffmpeg;
}

/**
 * ffprobe binary: `FFPROBE_PATH`, else Debian's `/usr/bin/ffprobe` (installed by `make install`),
 * else the static build of @ffprobe-installer/ffprobe. That build (N-66595) segfaults on every
 * MPEG-TS input here, so it is only the last resort.
 */
export function ffprobePath(): string {
  if (process.env.FFPROBE_PATH) return process.env.FFPROBE_PATH;
  ffprobe ??= existsSync(SYSTEM_FFPROBE)
    ? SYSTEM_FFPROBE
    : executable((require('@ffprobe-installer/ffprobe') as { path: string }).path);
  return ffprobe;
}
const SYSTEM_FFPROBE = '/usr/bin/ffprobe';
