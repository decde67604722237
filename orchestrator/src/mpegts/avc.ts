/**
 * H.264 as FLV carries it (AVCC: an AVCDecoderConfigurationRecord, then length-prefixed NAL units)
 * and as MPEG-TS wants it (Annex B: start codes, an access unit delimiter first, SPS/PPS in-band
 * before each IDR). ISO/IEC 14496-15 5.2.4.1; ITU-T H.264 7.4.1.
 */
import { MpegTsMuxError } from './muxError.js';

export const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;

export type AvcConfig = {
  /** Bytes in each NAL unit's length prefix (1, 2 or 4). */
  lengthSize: number;
  sps: Buffer[];
  pps: Buffer[];
};

/** Parses an AVCDecoderConfigurationRecord (copies its SPS/PPS: the input may be reused). */
export function parseAvcConfig(b: Buffer): AvcConfig {
  if (b.length < 7 || b[0] !== 1) throw new MpegTsMuxError('BAD_AVC', 'AVC sequence header is not an AVCDecoderConfigurationRecord (version 1)');
  const lengthSize = (b[4]! & 0x03) + 1;
  if (lengthSize === 3) throw new MpegTsMuxError('BAD_AVC', 'AVC NAL length size 3 is not allowed');
  let o = 6;
  const sets = (count: number): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (o + 2 > b.length) throw new MpegTsMuxError('BAD_AVC', 'AVC sequence header is truncated');
      const n = b.readUInt16BE(o);
      o += 2;
      if (n === 0 || o + n > b.length) throw new MpegTsMuxError('BAD_AVC', 'AVC sequence header has a parameter set past its end');
      out.push(Buffer.from(b.subarray(o, o + n)));
      o += n;
    }
    return out;
  };
  const sps = sets(b[5]! & 0x1f);
  if (o >= b.length) throw new MpegTsMuxError('BAD_AVC', 'AVC sequence header has no PPS count');
  const pps = sets(b[o++]!);
  if (sps.length === 0 || pps.length === 0) throw new MpegTsMuxError('BAD_AVC', 'AVC sequence header without SPS or PPS');
  return { lengthSize, sps, pps };
}

const readLength = (b: Buffer, o: number, size: number): number =>
  size === 4 ? b.readUInt32BE(o) : size === 2 ? b.readUInt16BE(o) : b[o]!;

export type AccessUnitPlan = {
  /** Annex B bytes this access unit takes (AUD, inserted SPS/PPS, every NAL with a 4-byte start code). */
  length: number;
  /** SPS/PPS go in front of the first NAL (an IDR without its own SPS). */
  insertParameterSets: boolean;
  nals: number;
};

/**
 * First pass over the NAL units of an FLV video body's payload b[start..): checks every length
 * and says how long the Annex B access unit will be. Source AUDs are dropped (ours comes first).
 */
export function planAccessUnit(b: Buffer, start: number, cfg: AvcConfig, keyframe: boolean): AccessUnitPlan {
  const size = cfg.lengthSize;
  let length = 6; // AUD
  let nals = 0;
  let idr = false;
  let sps = false;
  for (let o = start; o < b.length; ) {
    if (o + size > b.length) throw new MpegTsMuxError('BAD_AVC', 'AVC NAL unit length cut short');
    const n = readLength(b, o, size);
    o += size;
    if (n > b.length - o) throw new MpegTsMuxError('BAD_AVC', `AVC NAL unit of ${n} bytes runs past the frame`);
    if (n > 0) {
      const type = b[o]! & 0x1f;
      if (type === NAL_IDR) idr = true;
      else if (type === NAL_SPS) sps = true;
      if (type !== NAL_AUD) {
        length += 4 + n;
        nals++;
      }
    }
    o += n;
  }
  const insertParameterSets = (idr || keyframe) && !sps;
  if (insertParameterSets) for (const s of [...cfg.sps, ...cfg.pps]) length += 4 + s.length;
  return { length, insertParameterSets, nals };
}

const putStartCode = (out: Buffer, o: number) => {
  out[o] = 0;
  out[o + 1] = 0;
  out[o + 2] = 0;
  out[o + 3] = 1;
};

/** Second pass: writes the Annex B access unit planned by `planAccessUnit` at `o`; returns the end. */
export function writeAccessUnit(out: Buffer, o: number, b: Buffer, start: number, cfg: AvcConfig, plan: AccessUnitPlan): number {
  putStartCode(out, o);
  out[o + 4] = NAL_AUD;
  out[o + 5] = 0xf0; // primary_pic_type 7 (any), rbsp stop bit
  o += 6;
  if (plan.insertParameterSets) {
    for (const s of cfg.sps) o = putNal(out, o, s, 0, s.length);
    for (const s of cfg.pps) o = putNal(out, o, s, 0, s.length);
  }
  const size = cfg.lengthSize;
  for (let i = start; i < b.length; ) {
    const n = readLength(b, i, size);
    i += size;
    if (n > 0 && (b[i]! & 0x1f) !== NAL_AUD) o = putNal(out, o, b, i, i + n);
    i += n;
  }
  return o;
}

function putNal(out: Buffer, o: number, src: Buffer, from: number, to: number): number {
  putStartCode(out, o);
  src.copy(out, o + 4, from, to);
  return o + 4 + to - from;
}
