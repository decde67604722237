/**
 * FLV tag bodies: RTMP audio/video/data message payloads are FLV tag bodies already; the
 * segmenter's muxer (`../mpegts/flvToTs.ts`) reads them as such.
 */

export const TAG_AUDIO = 8;
export const TAG_VIDEO = 9;
export const TAG_SCRIPT = 18;

export type VideoInfo = { codecId: number; keyframe: boolean; sequenceHeader: boolean; enhanced: boolean };

/** First byte(s) of an RTMP/FLV video body: frame type and codec (7 = AVC). */
export function videoInfo(body: Buffer): VideoInfo | null {
  if (body.length < 1) return null;
  const b = body[0]!;
  // Enhanced RTMP (HEVC, AV1, VP9 via FourCC) sets the top bit.
  if (b & 0x80) return { codecId: -1, keyframe: ((b >> 4) & 0x07) === 1, sequenceHeader: (b & 0x0f) === 0, enhanced: true };
  const codecId = b & 0x0f;
  return { codecId, keyframe: b >> 4 === 1, sequenceHeader: codecId === 7 && body[1] === 0, enhanced: false };
}

/** Sound format of an RTMP/FLV audio body (10 = AAC). */
export function audioFormat(body: Buffer): number | null {
  return body.length < 1 ? null : body[0]! >> 4;
}

export const VIDEO_CODEC_NAMES: Record<number, string> = { 2: 'Sorenson H.263', 3: 'screen video', 4: 'VP6', 5: 'VP6 alpha', 6: 'screen video 2', 7: 'H.264', 12: 'HEVC (legacy id 12)' };
export const AUDIO_FORMAT_NAMES: Record<number, string> = { 0: 'PCM', 1: 'ADPCM', 2: 'MP3', 3: 'PCM LE', 4: 'Nellymoser 16k', 5: 'Nellymoser 8k', 6: 'Nellymoser', 7: 'G.711 A-law', 8: 'G.711 mu-law', 10: 'AAC', 11: 'Speex', 14: 'MP3 8k' };
