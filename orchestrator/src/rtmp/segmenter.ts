/**
 * The FLV → MPEG-TS segmenter of one publish: an ffmpeg `-c copy` process reading FLV tags on
 * stdin and cutting ~`segmentSec` segments on keyframes (ffmpeg's segment muxer waits for the
 * first keyframe at or after each multiple of the target). Timestamps are kept
 * (`-reset_timestamps 0`), so they run on across segments. Each finished segment is announced on
 * stdout by name and handed to `onSegment`, one at a time, in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { ffmpegPath } from '@segmint/media';
import { flvHeader, flvTag } from './flv.js';

const FLUSH_MS = 250;
const FLUSH_BYTES = 1024 * 1024;

export type SegmenterOptions = {
  segmentSec: number;
  /** Called with each finished segment's index (0, 1, …) and bytes; awaited before the next. */
  onSegment(index: number, bytes: Buffer): Promise<void>;
  logger: Logger;
  /** FLV bytes queued for ffmpeg beyond which the publisher is too fast for it (closed). */
  maxBacklogBytes?: number;
};

export class Segmenter {
  private child: ChildProcess | undefined;
  private dir = '';
  private chain: Promise<void> = Promise.resolve();
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';
  private headerSent = false;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Segments produced so far. */
  segments = 0;

  private constructor(private readonly opts: SegmenterOptions) {}

  static async start(opts: SegmenterOptions): Promise<Segmenter> {
    const s = new Segmenter(opts);
    s.dir = await mkdtemp(join(tmpdir(), 'segmint-rtmp-'));
    const child = spawn(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error',
      '-f', 'flv', '-i', 'pipe:0',
      '-map', '0', '-c', 'copy',
      '-f', 'segment', '-segment_time', String(opts.segmentSec), '-segment_format', 'mpegts',
      '-reset_timestamps', '0', '-segment_list', 'pipe:1', '-segment_list_type', 'flat',
      join(s.dir, '%d.ts'),
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    s.child = child;
    child.stdin!.on('error', () => {}); // ffmpeg may exit first; its exit is reported below
    child.stderr!.on('data', (d: Buffer) => {
      s.stderr = (s.stderr + d.toString()).slice(-4000);
    });
    s.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.once('error', (err) => opts.logger.error({ err }, 'could not start the ffmpeg segmenter'));
    createInterface({ input: child.stdout! }).on('line', (name) => {
      const index = Number(name.replace(/\.ts$/, ''));
      if (!Number.isInteger(index)) return;
      const path = join(s.dir, name);
      s.chain = s.chain.then(async () => {
        try {
          const bytes = await readFile(path);
          await rm(path, { force: true });
          s.segments++;
          await opts.onSegment(index, bytes);
        } catch (err) {
          opts.logger.warn({ err, index }, 'segment could not be ingested');
        }
      });
    });
    return s;
  }

  /** Queues one FLV tag; false when ffmpeg is gone or too far behind (the caller drops the publisher). */
  write(type: number, timestamp: number, body: Buffer): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) return false;
    if (!this.headerSent) {
      const header = flvHeader();
      this.batch.push(header);
      this.batchBytes += header.length;
      this.headerSent = true;
    }
    // Tags are batched for up to FLUSH_MS: a pipe write per message (~80 a second per stream)
    // cost more CPU than everything else in the ingest path, and each write wakes ffmpeg; a
    // quarter second more latency is small against 2 s segments.
    for (const part of flvTag(type, timestamp, body)) {
      this.batch.push(part);
      this.batchBytes += part.length;
    }
    if (this.batchBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
    return stdin.writableLength + this.batchBytes <= (this.opts.maxBacklogBytes ?? 64 * 1024 * 1024);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const stdin = this.child?.stdin;
    if (this.batch.length && stdin && !stdin.destroyed && !stdin.writableEnded) {
      // corked writes leave as one writev: no syscall per part, and no copy into one buffer
      stdin.cork();
      for (const part of this.batch) stdin.write(part);
      stdin.uncork();
    }
    this.batch = [];
    this.batchBytes = 0;
  }

  /** Ends the input, waits for ffmpeg to write the last segment and for every segment to be ingested. */
  async end(): Promise<void> {
    this.flush();
    this.child?.stdin?.end();
    const killer = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(killer);
    const code = this.child?.exitCode;
    if (code !== 0 && code !== null && this.headerSent) this.opts.logger.warn({ code, stderr: this.stderr.trim() }, 'ffmpeg segmenter exited with an error');
    await this.chain;
    await rm(this.dir, { recursive: true, force: true });
  }
}
