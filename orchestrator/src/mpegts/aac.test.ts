import { parseAacConfig, writeAdtsHeader } from './aac.js';
import { MpegTsMuxError } from './muxError.js';

describe('AAC → ADTS', () => {
  it('reads an AAC LC 48 kHz stereo AudioSpecificConfig', () => {
    expect(parseAacConfig(Buffer.from([0x11, 0x90]))).toEqual({ objectType: 2, samplingIndex: 3, channelConfig: 2 });
  });

  it('reads explicit HE-AAC signalling down to its AAC LC core', () => {
    // AOT 5 (SBR), core 24 kHz, stereo, extension 48 kHz, core AOT 2
    expect(parseAacConfig(Buffer.from([0x2b, 0x11, 0x88, 0x00]))).toEqual({ objectType: 2, samplingIndex: 6, channelConfig: 2 });
  });

  it('refuses object types ADTS cannot carry and truncated configs', () => {
    expect(() => parseAacConfig(Buffer.from([0xb8, 0x80]))).toThrow(MpegTsMuxError); // AOT 23 (AAC-LD)
    expect(() => parseAacConfig(Buffer.from([0x11]))).toThrow(/truncated/);
  });

  it('writes the 7-byte ADTS header: sync, MPEG-4, no CRC, profile, rate, channels, frame length', () => {
    const b = Buffer.alloc(7);
    writeAdtsHeader(b, 0, { objectType: 2, samplingIndex: 3, channelConfig: 2 }, 100);
    expect(b.toString('hex')).toBe('fff14c800d7ffc');
    writeAdtsHeader(b, 0, { objectType: 2, samplingIndex: 4, channelConfig: 7 }, 8000);
    // channel config 7 spans bytes 2 and 3; frame length 8007 spans bytes 3–5
    expect(((b[2]! & 1) << 2) | (b[3]! >> 6)).toBe(7);
    expect(((b[3]! & 3) << 11) | (b[4]! << 3) | (b[5]! >> 5)).toBe(8007);
    expect(() => writeAdtsHeader(b, 0, { objectType: 2, samplingIndex: 3, channelConfig: 2 }, 8185)).toThrow(/too long/);
  });
});
