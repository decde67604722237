/**
 * A small MPEG-TS demuxer: enough to validate a pushed segment, to hash its video elementary
 * stream, and to read duration, frame count and codec without spawning ffprobe. Pure: bytes in,
 * facts out. ISO/IEC 13818-1 (PAT, PMT, PES); one program, as every segmenter writes.
 */
import { createHash } from 'node:crypto';
import { parseH264Sps } from './h264.js';

export const TS_PACKET = 188;
const SYNC = 0x47;

/** PMT stream_type values we know by name. */
export const STREAM_TYPES: Record<number, string> = {
  0x1b: 'h264',
  0x24: 'hevc',
  0x0f: 'aac',
  0x03: 'mp3',
  0x04: 'mp3',
  0x81: 'ac3',
};

export type ElementaryStream = {
  pid: number;
  streamType: number;
  codec: string;
  /** PES packets seen (for video from a segmenter: one per frame). */
  pesCount: number;
  /** PTS of each PES in 90 kHz ticks, in arrival order. */
  pts: number[];
  /** Concatenated PES payloads (the elementary stream as carried). */
  bytes: Buffer;
};

export type DemuxReturnType = {
  packets: number;
  video?: ElementaryStream;
  audio?: ElementaryStream;
  /** Every elementary stream the PMT lists, in order (a rendition must have one video, at most one audio). */
  streams: { pid: number; streamType: number; codec: string; kind: 'video' | 'audio' | 'other' }[];
};

const VIDEO_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24]);
const AUDIO_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x87]);

/** True when every 188-byte packet starts with the sync byte (and there is at least one). */
export function isMpegTs(buf: Uint8Array): boolean {
  if (buf.length < TS_PACKET || buf.length % TS_PACKET !== 0) return false;
  for (let i = 0; i < buf.length; i += TS_PACKET) if (buf[i] !== SYNC) return false;
  return true;
}

/**
 * One elementary stream being read: PES packets are appended to `data` as they arrive (no buffer
 * per TS packet or per PES); when the next one starts, the finished one's header is parsed in
 * place and moved out, so `data` ends up holding the payloads back to back.
 */
type PesBuilder = { streamType: number; pts: number[]; data: Buffer; length: number; pesStart: number; count: number };

/** Reads PTS (33 bits, 90 kHz) from 5 bytes of a PES header. */
function readTimestamp(b: Buffer, o: number): number {
  return (
    ((b[o]! >> 1) & 0x07) * 2 ** 30 +
    ((b[o + 1]! << 7) | (b[o + 2]! >> 1)) * 2 ** 15 +
    ((b[o + 3]! << 7) | (b[o + 4]! >> 1))
  );
}

/** Ends the PES being collected at `s.pesStart`: its PTS noted, its payload kept, its header dropped (a non-PES is dropped whole). */
function finishPes(s: PesBuilder): void {
  const at = s.pesStart;
  if (at < 0) return;
  s.pesStart = -1;
  const d = s.data;
  const len = s.length - at;
  const start = 9 + (len >= 9 ? d[at + 8]! : 0);
  if (len < 9 || d[at] !== 0 || d[at + 1] !== 0 || d[at + 2] !== 1 || start > len) {
    s.length = at;
    return;
  }
  if (d[at + 7]! & 0x80 && len >= 14) s.pts.push(readTimestamp(d, at + 9));
  d.copyWithin(at, at + start, s.length);
  s.length -= start;
  s.count++;
}

/**
 * Demuxes a whole segment. Throws a TypeError on bytes that are not MPEG-TS; callers check
 * `isMpegTs` first when the input is untrusted.
 */
export function demux(buf: Buffer): DemuxReturnType {
  if (!isMpegTs(buf)) throw new TypeError('not an MPEG-TS buffer');
  let pmtPid = -1;
  const streams = new Map<number, PesBuilder>();

  for (let i = 0; i < buf.length; i += TS_PACKET) {
    const pusi = (buf[i + 1]! & 0x40) !== 0;
    const pid = ((buf[i + 1]! & 0x1f) << 8) | buf[i + 2]!;
    const afc = (buf[i + 3]! >> 4) & 0x03;
    let o = i + 4;
    if (afc === 2 || afc === 0) continue; // adaptation field only / reserved: no payload
    if (afc === 3) o += 1 + buf[o]!;
    if (o >= i + TS_PACKET) continue;

    if (pid === 0 && pusi) {
      // PAT: pointer field, then section; first program's PMT PID.
      const s = buf.subarray(o + 1 + buf[o]!, i + TS_PACKET);
      const sectionLen = ((s[1]! & 0x0f) << 8) | s[2]!;
      for (let p = 8; p + 4 <= 3 + sectionLen - 4; p += 4) {
        const program = (s[p]! << 8) | s[p + 1]!;
        if (program !== 0) {
          pmtPid = ((s[p + 2]! & 0x1f) << 8) | s[p + 3]!;
          break;
        }
      }
    } else if (pid === pmtPid && pusi) {
      const s = buf.subarray(o + 1 + buf[o]!, i + TS_PACKET);
      const sectionLen = ((s[1]! & 0x0f) << 8) | s[2]!;
      const progInfoLen = ((s[10]! & 0x0f) << 8) | s[11]!;
      const end = Math.min(3 + sectionLen - 4, s.length);
      for (let p = 12 + progInfoLen; p + 5 <= end; ) {
        const streamType = s[p]!;
        const esPid = ((s[p + 1]! & 0x1f) << 8) | s[p + 2]!;
        const infoLen = ((s[p + 3]! & 0x0f) << 8) | s[p + 4]!;
        // an elementary stream is never longer than the segment
        if (!streams.has(esPid)) streams.set(esPid, { streamType, pts: [], data: Buffer.allocUnsafe(buf.length), length: 0, pesStart: -1, count: 0 });
        p += 5 + infoLen;
      }
    } else {
      const s = streams.get(pid);
      if (!s) continue;
      if (pusi) {
        finishPes(s);
        s.pesStart = s.length;
      }
      if (s.pesStart >= 0) s.length += buf.copy(s.data, s.length, o, i + TS_PACKET);
    }
  }

  const result: DemuxReturnType = { packets: buf.length / TS_PACKET, streams: [] };
  for (const [pid, s] of streams) {
    const kind = VIDEO_TYPES.has(s.streamType) ? 'video' : AUDIO_TYPES.has(s.streamType) ? 'audio' : 'other';
    const codec = STREAM_TYPES[s.streamType] ?? `0x${s.streamType.toString(16)}`;
    result.streams.push({ pid, streamType: s.streamType, codec, kind });
    finishPes(s);
    const es: ElementaryStream = { pid, streamType: s.streamType, codec, pesCount: s.count, pts: s.pts, bytes: s.data.subarray(0, s.length) };
    if (kind === 'video' && !result.video) result.video = es;
    else if (kind === 'audio' && !result.audio) result.audio = es;
  }
  return result;
}

/** Facts of a segment's audio elementary stream. */
export type AudioFacts = {
  codec: string;
  /** From the ADTS headers (AAC); 0 when unknown (other codecs). */
  channels: number;
  sampleRate: number;
  /** AAC frames (1024 samples each), or PES packets for other codecs. */
  frames: number;
  /** AAC: frames × 1024 ÷ sample rate; otherwise the PTS span. */
  durationSec: number;
  /** sha256 (hex) of the audio elementary stream. */
  sha256: string;
};

export type SegmentFacts = {
  videoCodec: string;
  audioCodec?: string;
  audio?: AudioFacts;
  /** How many elementary streams of each kind the PMT lists. */
  streams?: { video: number; audio: number; other: number };
  width: number;
  height: number;
  frames: number;
  /** Frame rate from the mean PTS spacing. */
  fps: number;
  /** Video duration: last PTS − first PTS + one frame. */
  durationSec: number;
  /** First video PTS in seconds (for timestamp continuity). */
  startSec: number;
  /** sha256 (hex) of the video elementary stream. */
  videoSha256: string;
  /** RFC 6381 codec string for HLS CODECS, e.g. `avc1.64001f`. */
  videoCodecString: string;
};

/** Frame rates encoders are set to; a measured rate within 2 % of one of them is taken as it. */
const NOMINAL_RATES = [24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60];

/**
 * The frame rate an encoder was set to, from the one measured over a segment: a live encoder's
 * timestamps (whole ms over RTMP, and late frames on a loaded machine) put a 30 fps source at
 * 29.6 or 30.5 over 2 s. Read as such, the ladder would resample it to 30 and a rendition would
 * gain or lose a frame against its source. Other rates are kept (to 3 decimals).
 */
export function nominalFrameRate(measured: number): number {
  let nearest: number | undefined;
  for (const r of NOMINAL_RATES) {
    const off = Math.abs(measured - r);
    if (off <= 0.02 * r && (nearest === undefined || off < Math.abs(measured - nearest))) nearest = r;
  }
  return Math.round((nearest ?? measured) * 1000) / 1000;
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Walks ADTS frames: how many, channels and sample rate of the first (null: not ADTS). */
export function adtsFacts(es: Buffer): { frames: number; channels: number; sampleRate: number } | null {
  let frames = 0;
  let channels = 0;
  let sampleRate = 0;
  for (let o = 0; o + 7 <= es.length; ) {
    if (es[o] !== 0xff || (es[o + 1]! & 0xf6) !== 0xf0) return frames > 0 ? { frames, channels, sampleRate } : null;
    const length = ((es[o + 3]! & 0x03) << 11) | (es[o + 4]! << 3) | (es[o + 5]! >> 5);
    if (length < 7) return null;
    if (frames === 0) {
      sampleRate = ADTS_RATES[(es[o + 2]! >> 2) & 0x0f] ?? 0;
      channels = ((es[o + 2]! & 0x01) << 2) | (es[o + 3]! >> 6);
    }
    // Raw data blocks per ADTS frame − 1 (almost always 0: one 1024-sample frame).
    frames += 1 + (es[o + 6]! & 0x03);
    o += length;
  }
  return frames > 0 ? { frames, channels, sampleRate } : null;
}

function audioFacts(audio: ElementaryStream): AudioFacts {
  const sha256 = createHash('sha256').update(audio.bytes).digest('hex');
  const adts = audio.codec === 'aac' ? adtsFacts(audio.bytes) : null;
  if (adts && adts.sampleRate > 0) return { codec: audio.codec, ...adts, durationSec: (adts.frames * 1024) / adts.sampleRate, sha256 };
  const pts = [...audio.pts].sort((a, b) => a - b);
  const span = pts.length > 1 ? (pts[pts.length - 1]! - pts[0]!) / 90_000 : 0;
  return { codec: audio.codec, channels: 0, sampleRate: 0, frames: audio.pesCount, durationSec: span, sha256 };
}

/** Facts a worker reports and the orchestrator checks, read from the segment's own bytes. */
export function segmentFacts(buf: Buffer): SegmentFacts {
  const { video, audio, streams } = demux(buf);
  if (!video || video.pesCount === 0) throw new TypeError('segment has no video stream');
  const sorted = [...video.pts].sort((a, b) => a - b);
  const first = sorted[0] ?? 0;
  const last = sorted[sorted.length - 1] ?? 0;
  // The mean spacing, not the smallest: RTMP timestamps are whole milliseconds, so a 30 fps
  // source arrives as 33, 33, 34 ms (or 31, 35 ms from a jittery encoder) and the smallest gap
  // would read as 32 fps. Exact sources (our renditions) have equal spacing either way.
  const frameTicks = sorted.length > 1 && last > first ? (last - first) / (sorted.length - 1) : 3000; // one frame: assume 30 fps
  const sps = video.codec === 'h264' ? parseH264Sps(video.bytes) : undefined;
  return {
    videoCodec: video.codec,
    audioCodec: audio?.codec,
    ...(audio && audio.bytes.length > 0 ? { audio: audioFacts(audio) } : {}),
    streams: {
      video: streams.filter((x) => x.kind === 'video').length,
      audio: streams.filter((x) => x.kind === 'audio').length,
      other: streams.filter((x) => x.kind === 'other').length,
    },
    width: sps?.width ?? 0,
    height: sps?.height ?? 0,
    frames: video.pesCount,
    fps: nominalFrameRate(90_000 / frameTicks),
    durationSec: (last - first + frameTicks) / 90_000,
    startSec: first / 90_000,
    videoSha256: createHash('sha256').update(video.bytes).digest('hex'),
    videoCodecString: sps ? sps.codecString : video.codec,
  };
}
