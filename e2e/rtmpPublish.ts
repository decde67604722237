import { spawn, type ChildProcess } from 'node:child_process';
import { ffmpegPath } from '@segmint/media';

export type FfmpegPublishOptions = { port: number; key: string; seconds: number; width?: number; height?: number; fps?: number; bframes?: number; app?: string };

/** ffmpeg publishing its generated test source (H.264 + AAC, 2 s GOP) live (-re) over RTMP. */
export function ffmpegPublish(o: FfmpegPublishOptions): ChildProcess & { stderrText: () => string } {
  const { width = 640, height = 360, fps = 30, bframes = 2 } = o;
  const child = spawn(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(o.seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', String(bframes), '-pix_fmt', 'yuv420p',
    '-g', String(fps * 2), '-keyint_min', String(fps * 2), '-sc_threshold', '0', '-b:v', '2M',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
    '-f', 'flv', `rtmp://127.0.0.1:${o.port}/${o.app ?? 'live'}/${o.key}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { stderrText: () => string };
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.stderrText = () => err;
  return child;
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/**
 * GStreamer publishing live over RTMP (rtmp2sink, gst-plugins-bad): test pattern through x264enc
 * (2 s keyframe interval, B-frames) and a tone through voaacenc, muxed by flvmux.
 */
export function gstreamerPublish(o: { port: number; key: string; seconds: number; width?: number; height?: number; fps?: number }): ChildProcess & { stderrText: () => string } {
  const { width = 640, height = 360, fps = 30 } = o;
  const child = spawn('gst-launch-1.0', [
    '-e',
    'videotestsrc', 'is-live=true', 'pattern=smpte', `num-buffers=${o.seconds * fps}`, '!',
    `video/x-raw,width=${width},height=${height},framerate=${fps}/1`, '!',
    'x264enc', 'speed-preset=ultrafast', `key-int-max=${2 * fps}`, 'bframes=2', 'bitrate=1000', '!', 'h264parse', '!', 'queue', '!', 'mux.',
    // 1024 samples per AAC frame at 48 kHz: the audio ends with the video
    'audiotestsrc', 'is-live=true', `num-buffers=${Math.ceil((o.seconds * 48_000) / 1024)}`, 'samplesperbuffer=1024', '!',
    'audio/x-raw,rate=48000,channels=2', '!', 'audioconvert', '!', 'voaacenc', '!', 'aacparse', '!', 'queue', '!', 'mux.',
    'flvmux', 'name=mux', 'streamable=true', '!', 'rtmp2sink', `location=rtmp://127.0.0.1:${o.port}/live/${o.key}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { stderrText: () => string };
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.stderrText = () => err;
  return child;
}
