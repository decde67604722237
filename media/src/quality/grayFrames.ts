import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ffmpegPath } from '../binaries.js';
import { ProcessError } from '../run.js';

/**
 * Decodes a video file's first video stream to 8-bit planar YUV 4:2:0 frames (luma first, then
 * the two chroma planes at half size), one at a time, at its own size and in presentation order,
 * with no frame dropped or duplicated (`-vsync passthrough`).
 * Streams, so a long 1080p segment never sits in memory whole. Always `close()` it.
 */
export class GrayFrames {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private stderr = '';
  private readonly exited: Promise<number | null>;
  readonly frameBytes: number;

  constructor(file: string, readonly width: number, readonly height: number, timeoutMs = 120_000) {
    this.frameBytes = width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    this.child = spawn(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file,
      '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1',
    ], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    this.child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', (e) => reject(new ProcessError(`could not run ffmpeg: ${e.message}`, { cause: e })));
      this.child.on('close', (code) => resolve(code));
    });
    this.exited.catch(() => {}); // surfaced by next()
    this.iterator = this.child.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next frame (a fresh buffer of `frameBytes`), or null after the last one. */
  async next(): Promise<Uint8Array | null> {
    while (this.pendingBytes < this.frameBytes) {
      const r = await this.iterator.next();
      if (r.done) {
        const code = await this.exited;
        if (code !== 0) throw new ProcessError(`ffmpeg could not decode the video (exit ${code})`, { details: this.stderr });
        return null; // a trailing partial frame cannot happen with rawvideo; ignore it if it did
      }
      this.pending.push(r.value);
      this.pendingBytes += r.value.length;
    }
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    // A copy (callers keep frames), by Buffer.copy: `new Uint8Array(buffer)` goes element by
    // element when the Buffer comes from another realm (jest), 40× slower.
    const frame = Buffer.allocUnsafe(this.frameBytes);
    all.copy(frame, 0, 0, this.frameBytes);
    const rest = all.subarray(this.frameBytes);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return frame;
  }

  close(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child.stdout.destroy();
  }
}
