import { parseAvcConfig, planAccessUnit, writeAccessUnit } from './avc.js';
import { MpegTsMuxError } from './muxError.js';

const SPS = Buffer.from([0x67, 0x4d, 0x40, 0x1e, 0xec]);
const PPS = Buffer.from([0x68, 0xeb, 0xec, 0xb2]);
const record = Buffer.concat([Buffer.from([1, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0, SPS.length]), SPS, Buffer.from([1, 0, PPS.length]), PPS]);
const lp = (...nals: Buffer[]) => Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, n.length]), n]));
const annexB = (...nals: Buffer[]) => Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));
const AUD = Buffer.from([0x09, 0xf0]);

function convert(frame: Buffer, keyframe: boolean): Buffer {
  const cfg = parseAvcConfig(record);
  const plan = planAccessUnit(frame, 0, cfg, keyframe);
  const out = Buffer.alloc(plan.length + 8, 0xee);
  expect(writeAccessUnit(out, 0, frame, 0, cfg, plan)).toBe(plan.length);
  expect(out.subarray(plan.length).every((x) => x === 0xee)).toBe(true); // nothing past the plan
  return out.subarray(0, plan.length);
}

describe('AVCC → Annex B', () => {
  it('reads the AVCDecoderConfigurationRecord', () => {
    expect(parseAvcConfig(record)).toEqual({ lengthSize: 4, sps: [SPS], pps: [PPS] });
    expect(() => parseAvcConfig(record.subarray(0, 10))).toThrow(MpegTsMuxError);
    expect(() => parseAvcConfig(Buffer.from([0, 0, 0, 0, 0, 0, 0]))).toThrow(/version 1/);
  });

  it('puts an AUD first and SPS/PPS in front of an IDR that has none', () => {
    const idr = Buffer.from([0x65, 0x88, 0x84, 0x00]);
    const sei = Buffer.from([0x06, 0x05, 0x01]);
    expect(convert(lp(sei, idr), true)).toEqual(annexB(AUD, SPS, PPS, sei, idr));
  });

  it('leaves a non-IDR frame alone but for the AUD, and drops the source AUD', () => {
    const slice = Buffer.from([0x41, 0x9a, 0x02]);
    expect(convert(lp(AUD, slice), false)).toEqual(annexB(AUD, slice));
  });

  it('does not repeat parameter sets an IDR already carries', () => {
    const idr = Buffer.from([0x65, 0x88]);
    expect(convert(lp(SPS, PPS, idr), true)).toEqual(annexB(AUD, SPS, PPS, idr));
  });

  it('refuses NAL lengths that run past the frame', () => {
    const cfg = parseAvcConfig(record);
    expect(() => planAccessUnit(Buffer.from([0, 0, 0, 9, 0x65, 1]), 0, cfg, true)).toThrow(/runs past the frame/);
    expect(() => planAccessUnit(Buffer.from([0, 0, 0, 1, 0x65, 0, 0]), 0, cfg, true)).toThrow(/cut short/);
  });
});
