/**
 * H.264 sequence parameter set reader (ITU-T H.264 7.3.2.1.1): just enough for the coded
 * picture size after cropping.
 */

class BitReader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  bit(): number {
    const byte = this.b[this.pos >> 3];
    if (byte === undefined) throw new RangeError('SPS truncated');
    const v = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new RangeError('bad exp-Golomb code');
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -(k / 2);
  }
}

/** Removes emulation-prevention bytes (00 00 03 → 00 00). */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

/** Finds the first NAL unit of `type` in an Annex B byte stream. */
export function findNal(es: Uint8Array, type: number): Uint8Array | undefined {
  for (let i = 0; i + 3 < es.length; i++) {
    if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1 && (es[i + 3]! & 0x1f) === type) {
      let end = i + 3;
      while (end + 2 < es.length && !(es[end] === 0 && es[end + 1] === 0 && (es[end + 2] === 1 || es[end + 2] === 0))) end++;
      return es.subarray(i + 3, end + 2 < es.length ? end : es.length);
    }
  }
  return undefined;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export type SpsInfo = {
  profileIdc: number;
  levelIdc: number;
  width: number;
  height: number;
  /** RFC 6381: `avc1.` + profile_idc, constraint flags, level_idc in hex. */
  codecString: string;
};

/** Parses the first SPS in an Annex B stream; undefined when there is none or it is malformed. */
export function parseH264Sps(es: Uint8Array): SpsInfo | undefined {
  const nal = findNal(es, 7);
  if (!nal) return undefined;
  try {
    const r = new BitReader(rbsp(nal.subarray(1)));
    const profileIdc = r.bits(8);
    const constraints = r.bits(8);
    const levelIdc = r.bits(8);
    r.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc === 3) separateColourPlane = r.bit();
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.bit(); // qpprime_y_zero_transform_bypass_flag
      if (r.bit()) {
        // seq_scaling_matrix_present_flag: skip the scaling lists
        for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i++) {
          if (!r.bit()) continue;
          const size = i < 6 ? 16 : 64;
          let last = 8;
          let next = 8;
          for (let j = 0; j < size; j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit(); // mb_adaptive_frame_field_flag
    r.bit(); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (r.bit()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subW = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subH = chromaArrayType === 1 ? 2 : 1;
    const cropUnitX = chromaArrayType === 0 ? 1 : subW;
    const cropUnitY = (chromaArrayType === 0 ? 1 : subH) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropUnitX * (crop[0]! + crop[1]!);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop[2]! + crop[3]!);
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    return { profileIdc, levelIdc, width, height, codecString: `avc1.${hex(profileIdc)}${hex(constraints)}${hex(levelIdc)}` };
  } catch {
    return undefined;
  }
}
