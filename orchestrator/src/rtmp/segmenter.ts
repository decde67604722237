/**
 * The FLV → MPEG-TS segmenter of one publish: RTMP audio/video bodies go into an in-process muxer
 * (`../mpegts/flvToTs.ts`) that cuts ~`segmentSec` segments on keyframes with timestamps running
 * on across segments. Each finished segment is handed to `onSegment`, one at a time, in order.
 *
 * It used to be an ffmpeg `-c copy` process per publish fed through a pipe; at 100 streams the
 * processes, the pipe writes and reading each segment back from a temp file cost more CPU than
 * the rest of the ingest path (see README, bench:ingest).
 */
import type { Logger } from 'pino';
import { FlvToTs } from '../mpegts/flvToTs.js';
import { MpegTsMuxError } from '../mpegts/muxError.js';
import { ProtocolViolation } from './rtmpConnection.js';

export type SegmenterOptions = {
  segmentSec: number;
  /**
   * Called with each finished segment's index (0, 1, …) and bytes; awaited before the next. The
   * bytes are valid until the returned promise settles: their buffer is then reused for a later
   * segment (copy them to keep them longer).
   */
  onSegment(index: number, bytes: Buffer): Promise<void>;
  logger: Logger;
  /** Bytes of finished segments waiting for `onSegment` beyond which ingest is too slow for this publisher (closed). */
  maxBacklogBytes?: number;
  /** Largest segment (a publisher that never sends a keyframe is closed here). */
  maxSegmentBytes?: number;
};

export class Segmenter {
  private readonly muxer: FlvToTs;
  private chain: Promise<void> = Promise.resolve();
  private backlog = 0;
  private ended = false;
  /** Segments handed to onSegment so far. */
  segments = 0;

  private constructor(private readonly opts: SegmenterOptions) {
    this.muxer = new FlvToTs({
      segmentSec: opts.segmentSec,
      maxSegmentBytes: opts.maxSegmentBytes,
      onSegment: ({ index, bytes, release }) => {
        this.backlog += bytes.length;
        this.chain = this.chain.then(async () => {
          try {
            this.segments++;
            await opts.onSegment(index, bytes);
          } catch (err) {
            opts.logger.warn({ err, index }, 'segment could not be ingested');
          } finally {
            this.backlog -= bytes.length;
            release();
          }
        });
      },
    });
  }

  static async start(opts: SegmenterOptions): Promise<Segmenter> {
    return new Segmenter(opts);
  }

  /**
   * Muxes one FLV tag (the body is not kept: it may be reused after this returns). False when
   * ingest is too far behind (the caller drops the publisher); malformed media throws
   * ProtocolViolation (the connection closes).
   */
  write(type: number, timestamp: number, body: Buffer): boolean {
    if (this.ended) return false;
    try {
      this.muxer.push(type, timestamp, body);
    } catch (err) {
      if (err instanceof MpegTsMuxError) throw new ProtocolViolation(`${err.code}: ${err.message}`);
      throw err;
    }
    return this.backlog <= (this.opts.maxBacklogBytes ?? 64 * 1024 * 1024);
  }

  /** Ends the input: the last segment is finished and every segment ingested. */
  async end(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      try {
        this.muxer.end();
      } catch (err) {
        this.opts.logger.warn({ err }, 'last segment could not be finished');
      }
    }
    await this.chain;
  }
}
