/**
 * FLV tags (RTMP audio/video message bodies) → MPEG-TS segments, in process: what an ffmpeg
 * `-c copy -f segment -segment_format mpegts` process did per publish, without the process, the
 * pipe and the temp files.
 *
 * - H.264: AVCC → Annex B, an AUD first in every access unit, SPS/PPS from the AVC sequence header
 *   in front of each IDR; one PES per frame with PTS = DTS + composition time (B-frames), DTS when
 *   it differs; PCR on the video PID in the first packet of every frame; random_access_indicator on
 *   keyframes.
 * - AAC: an ADTS header (from the AudioSpecificConfig) before each raw frame; frames are grouped
 *   into PES packets of up to ~2.9 kB, as ffmpeg does.
 * - Segments start with PAT + PMT and a keyframe; a segment is cut at the first keyframe at least
 *   `segmentSec` (less 20 ms of timestamp jitter) after the segment's first keyframe. Timestamps
 *   run on across segments (90 kHz = RTMP ms × 90, starting at 1.4 s as ffmpeg's do) and so do
 *   the continuity counters.
 * - Media before the first keyframe (and before the AVC sequence header) is dropped: a segment
 *   must start decodable.
 *
 * Synchronous: `push` may call `onSegment` with a finished segment. Its bytes are the muxer's own
 * buffer: calling the segment's `release()` once done with them lets the muxer write a later
 * segment into it (a new buffer per segment was a steady stream of garbage); a segment never
 * released is simply left to the garbage collector. Malformed media throws MpegTsMuxError.
 */
import { ADTS_HEADER, parseAacConfig, writeAdtsHeader, type AacConfig } from './aac.js';
import { parseAvcConfig, planAccessUnit, writeAccessUnit, type AvcConfig } from './avc.js';
import { MpegTsMuxError } from './muxError.js';
import { PID_AUDIO, PID_VIDEO } from './psi.js';
import { pesHeaderSize, TsOutput, writePesHeader } from './tsOutput.js';

const TAG_AUDIO = 8;
const TAG_VIDEO = 9;
/** ffmpeg's mpegts muxer starts timestamps at 1.4 s; so do we (room for PCR below the first DTS). */
export const TS_OFFSET_90K = 126_000;
/** How far the PCR runs behind the video DTS (ffmpeg's default mux delay). */
const PCR_LEAD_90K = 63_000;
/** Audio frames per PES: up to this many bytes (ffmpeg's pes_payload_size) or this long. */
const AUDIO_PES_BYTES = 2930;
const AUDIO_PES_SPAN_90K = 45_000;
const CUT_JITTER_MS = 20;
/** A keyframe this far before the segment start, or after it, restarts the segment clock (timestamps jumped). */
const TIME_JUMP_MS = 10 * 60 * 1000;
const SEGMENT_BUFFER_INITIAL = 1024 * 1024;
/**
 * Default limit of one segment: 2 s at 8 Mb/s is 2 MB, a 10 s keyframe interval at 20 Mb/s 25 MB.
 * With a power of two the segment buffer (doubling from 1 MiB) never grows past it.
 */
export const MAX_SEGMENT_BYTES = 32 * 1024 * 1024;
/** Released segment buffers kept for reuse: larger ones (a huge segment) are dropped. */
const SEGMENT_BUFFER_KEEP = 8 * 1024 * 1024;
const SPARE_BUFFERS = 2;

export type FlvToTsOptions = {
  segmentSec: number;
  /** A segment growing past this (no keyframe for too long) is an error (default MAX_SEGMENT_BYTES). */
  maxSegmentBytes?: number;
  /** Each finished segment, in order, index 0, 1, …; `durationSec` is its video duration by DTS. */
  onSegment(segment: MuxedSegment): void;
};

export type MuxedSegment = {
  index: number;
  bytes: Buffer;
  durationSec: number;
  /** Done with `bytes`: the muxer may reuse their buffer (they must not be read after). */
  release(): void;
};

export class FlvToTs {
  private readonly out = new TsOutput(SEGMENT_BUFFER_INITIAL);
  private readonly maxSegmentBytes: number;
  private avc: AvcConfig | null = null;
  private aac: AacConfig | null = null;
  /** First keyframe seen: media is muxed from here on. */
  private started = false;
  private baseMs = 0;
  /** 32-bit RTMP timestamps unwrapped into a continuous ms count. */
  private wrapBase = 0;
  private lastMs = 0;
  private haveLast = false;
  /** Current segment: start (ms, keyframe PTS), video frames, last video DTS (ms). */
  private segStartMs = 0;
  private segFrames = 0;
  private segFirstDtsMs = 0;
  private segLastDtsMs = 0;
  private frameMs = 0;
  private segmentIndex = 0;
  /** Audio frames (ADTS) waiting for their PES. */
  private audio = Buffer.allocUnsafe(4096);
  private audioLength = 0;
  private audioPts = 0;
  private readonly spare: Buffer[] = [];

  constructor(private readonly opts: FlvToTsOptions) {
    this.maxSegmentBytes = opts.maxSegmentBytes ?? MAX_SEGMENT_BYTES;
  }

  /** Segments finished so far. */
  get segments(): number {
    return this.segmentIndex;
  }

  /** One FLV tag body: type 8 (audio), 9 (video); anything else (script data) is ignored. */
  push(type: number, timestamp: number, body: Buffer): void {
    if (type === TAG_VIDEO) this.video(this.unwrap(timestamp), body);
    else if (type === TAG_AUDIO) this.audioTag(this.unwrap(timestamp), body);
  }

  /** Ends the stream: the segment being written is finished (when it has a frame). */
  end(): void {
    if (this.started && this.segFrames > 0) this.finishSegment();
  }

  private unwrap(ts32: number): number {
    let v = (ts32 >>> 0) + this.wrapBase;
    if (this.haveLast) {
      if (v - this.lastMs > 2 ** 31) v -= 2 ** 32;
      else if (this.lastMs - v > 2 ** 31) v += 2 ** 32;
    }
    this.wrapBase = v - (ts32 >>> 0);
    this.lastMs = v;
    this.haveLast = true;
    return v;
  }

  private to90k(ms: number): number {
    return (ms - this.baseMs) * 90 + TS_OFFSET_90K;
  }

  private video(dtsMs: number, body: Buffer): void {
    if (body.length < 5) return;
    const frameType = body[0]! >> 4;
    if ((body[0]! & 0x0f) !== 7) return; // not AVC: the connection refuses it before it gets here
    const packetType = body[1]!;
    if (packetType === 0) {
      this.avc = parseAvcConfig(body.subarray(5));
      return;
    }
    if (packetType !== 1 || !this.avc) return; // end of sequence, or frames before any configuration
    const cts = ((body[2]! << 16) | (body[3]! << 8) | body[4]!) << 8 >> 8; // SI24
    const keyframe = frameType === 1;
    const ptsMs = dtsMs + cts;
    const plan = planAccessUnit(body, 5, this.avc, keyframe);
    if (plan.nals === 0) return;
    if (!this.started) {
      if (!keyframe) return;
      this.started = true;
      this.baseMs = dtsMs;
      this.startSegment(ptsMs, dtsMs);
    } else if (keyframe && this.segFrames > 0) {
      const elapsed = ptsMs - this.segStartMs;
      if (elapsed >= this.opts.segmentSec * 1000 - CUT_JITTER_MS || elapsed < 0 || elapsed > TIME_JUMP_MS) {
        this.finishSegment();
        this.startSegment(ptsMs, dtsMs);
      }
    }
    const dts = this.to90k(dtsMs);
    const pts = this.to90k(ptsMs);
    const header = pesHeaderSize(pts, dts);
    const pes = { pid: PID_VIDEO, pcr: Math.max(0, dts - PCR_LEAD_90K), randomAccess: keyframe };
    this.checkSize(header + plan.length);
    const room = this.out.reservePes(header + plan.length, pes);
    writePesHeader(this.out.buf, room.dataStart, 0xe0, pts, dts, 0);
    writeAccessUnit(this.out.buf, room.dataStart + header, body, 5, this.avc, plan);
    this.out.packetize(room, pes);
    if (this.segFrames > 0 && dtsMs > this.segLastDtsMs) this.frameMs = dtsMs - this.segLastDtsMs;
    this.segFrames++;
    this.segLastDtsMs = dtsMs;
  }

  private audioTag(ms: number, body: Buffer): void {
    if (body.length < 2 || body[0]! >> 4 !== 10) return; // AAC only: the connection refuses the rest
    if (body[1] === 0) {
      this.flushAudio(); // frames written so far belong to the previous configuration
      this.aac = parseAacConfig(body.subarray(2));
      return;
    }
    if (!this.started || !this.aac || body.length === 2) return;
    const raw = body.length - 2;
    const pts = this.to90k(ms);
    if (this.audioLength > 0 && (this.audioLength + ADTS_HEADER + raw > AUDIO_PES_BYTES || pts - this.audioPts >= AUDIO_PES_SPAN_90K || pts < this.audioPts)) {
      this.flushAudio();
    }
    if (this.audioLength === 0) this.audioPts = pts;
    const need = this.audioLength + ADTS_HEADER + raw;
    if (need > this.audio.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.audio.length * 2));
      this.audio.copy(bigger, 0, 0, this.audioLength);
      this.audio = bigger;
    }
    writeAdtsHeader(this.audio, this.audioLength, this.aac, raw);
    body.copy(this.audio, this.audioLength + ADTS_HEADER, 2);
    this.audioLength = need;
  }

  private flushAudio(): void {
    if (this.audioLength === 0) return;
    const header = pesHeaderSize(this.audioPts, this.audioPts);
    const pes = { pid: PID_AUDIO };
    this.checkSize(header + this.audioLength);
    const room = this.out.reservePes(header + this.audioLength, pes);
    writePesHeader(this.out.buf, room.dataStart, 0xc0, this.audioPts, this.audioPts, this.audioLength);
    this.audio.copy(this.out.buf, room.dataStart + header, 0, this.audioLength);
    this.out.packetize(room, pes);
    this.audioLength = 0;
  }

  private startSegment(ptsMs: number, dtsMs: number): void {
    this.out.writeTables(this.aac !== null);
    this.segStartMs = ptsMs;
    this.segFirstDtsMs = dtsMs;
    this.segFrames = 0;
  }

  private finishSegment(): void {
    this.flushAudio();
    const durationSec = (this.segLastDtsMs - this.segFirstDtsMs + this.frameMs) / 1000;
    const next = this.spare.pop() ?? Buffer.allocUnsafe(Math.min(SEGMENT_BUFFER_KEEP, Math.max(SEGMENT_BUFFER_INITIAL, this.out.buf.length)));
    const { bytes, buffer } = this.out.swap(next);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (this.spare.length < SPARE_BUFFERS && buffer.length <= SEGMENT_BUFFER_KEEP) this.spare.push(buffer);
    };
    this.segFrames = 0;
    this.opts.onSegment({ index: this.segmentIndex++, bytes, durationSec, release });
  }

  /** Before writing a PES of `pesBytes`: the segment (and so its buffer) stays within maxSegmentBytes. */
  private checkSize(pesBytes: number): void {
    // packets: 188 bytes per 184 of PES, plus one for the adaptation field's room
    if (this.out.length + Math.ceil(pesBytes / 184 + 1) * 188 > this.maxSegmentBytes) {
      throw new MpegTsMuxError('SEGMENT_TOO_LARGE', `segment over ${this.maxSegmentBytes} bytes without a keyframe to cut at; send a keyframe every ${this.opts.segmentSec} s`);
    }
  }
}
