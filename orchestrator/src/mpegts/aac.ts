/**
 * AAC as FLV carries it (an AudioSpecificConfig, then raw frames) and as MPEG-TS wants it (each
 * frame behind a 7-byte ADTS header). ISO/IEC 14496-3 1.6.2.1 and 1.A.2.
 */
import { MpegTsMuxError } from './muxError.js';

export type AacConfig = {
  /** Audio object type of the core coder (HE-AAC's SBR/PS signalling resolved to its AAC LC core). */
  objectType: number;
  samplingIndex: number;
  channelConfig: number;
};

export const ADTS_HEADER = 7;
const SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

class Bits {
  private pos = 0;
  constructor(private readonly b: Buffer) {}
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++, this.pos++) {
      const byte = this.b[this.pos >> 3];
      if (byte === undefined) throw new MpegTsMuxError('BAD_AAC', 'AAC AudioSpecificConfig is truncated');
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
    }
    return v;
  }
  objectType(): number {
    const t = this.read(5);
    return t === 31 ? 32 + this.read(6) : t;
  }
  samplingIndex(): number {
    const i = this.read(4);
    if (i === 15) {
      const rate = this.read(24);
      const known = SAMPLE_RATES.indexOf(rate);
      if (known < 0) throw new MpegTsMuxError('BAD_AAC', `AAC sample rate ${rate} Hz cannot be signalled in ADTS`);
      return known;
    }
    return i;
  }
}

/** Parses an AudioSpecificConfig into what an ADTS header needs. */
export function parseAacConfig(b: Buffer): AacConfig {
  const r = new Bits(b);
  let objectType = r.objectType();
  let samplingIndex = r.samplingIndex();
  const channelConfig = r.read(4);
  if (objectType === 5 || objectType === 29) {
    // explicit SBR/PS: the extension sample rate, then the core's object type (ADTS carries the core)
    r.samplingIndex();
    objectType = r.objectType();
  }
  if (objectType < 1 || objectType > 4) throw new MpegTsMuxError('BAD_AAC', `AAC object type ${objectType} cannot be carried in ADTS (MPEG-TS needs AAC Main, LC, SSR or LTP)`);
  if (samplingIndex > 12) throw new MpegTsMuxError('BAD_AAC', `AAC sampling frequency index ${samplingIndex} is reserved`);
  return { objectType, samplingIndex, channelConfig };
}

/** Writes the ADTS header of a frame of `rawLength` bytes at `o` (MPEG-4, no CRC, one raw data block). */
export function writeAdtsHeader(out: Uint8Array, o: number, cfg: AacConfig, rawLength: number): void {
  const len = ADTS_HEADER + rawLength;
  if (len > 0x1fff) throw new MpegTsMuxError('BAD_AAC', `AAC frame of ${rawLength} bytes is too long for ADTS`);
  out[o] = 0xff;
  out[o + 1] = 0xf1; // sync, MPEG-4, layer 0, protection_absent
  out[o + 2] = ((cfg.objectType - 1) << 6) | (cfg.samplingIndex << 2) | ((cfg.channelConfig >> 2) & 0x01);
  out[o + 3] = ((cfg.channelConfig & 0x03) << 6) | (len >> 11);
  out[o + 4] = (len >> 3) & 0xff;
  out[o + 5] = ((len & 0x07) << 5) | 0x1f; // buffer fullness 0x7FF: variable bitrate
  out[o + 6] = 0xfc;
}

/** Samples per second of a sampling frequency index. */
export const sampleRateOf = (samplingIndex: number): number => SAMPLE_RATES[samplingIndex] ?? 0;
