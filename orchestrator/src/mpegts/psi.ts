/**
 * MPEG-TS program-specific information (ISO/IEC 13818-1 2.4.4): the PAT and PMT of the one
 * program Segmint writes, each as one whole 188-byte packet, and the MPEG-2 CRC-32 they end with.
 */

export const TS_PACKET = 188;
export const PID_PAT = 0x0000;
/** The PIDs ffmpeg's mpegts muxer uses; players and tools are used to them. */
export const PID_PMT = 0x1000;
export const PID_VIDEO = 0x0100;
export const PID_AUDIO = 0x0101;
export const STREAM_TYPE_H264 = 0x1b;
export const STREAM_TYPE_AAC_ADTS = 0x0f;
const PROGRAM_NUMBER = 1;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, not reflected, no final xor) of b[start, end). */
export function crc32Mpeg2(b: Uint8Array, start = 0, end = b.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/**
 * Writes one PSI section as a whole TS packet at `o`: header (PUSI set), pointer field 0, the
 * section bytes, its CRC, 0xFF stuffing. `section` excludes the CRC.
 */
function writeSectionPacket(out: Uint8Array, o: number, pid: number, cc: number, section: number[]): void {
  out[o] = 0x47;
  out[o + 1] = 0x40 | (pid >> 8);
  out[o + 2] = pid & 0xff;
  out[o + 3] = 0x10 | (cc & 0x0f);
  out[o + 4] = 0; // pointer_field
  const s = o + 5;
  for (let i = 0; i < section.length; i++) out[s + i] = section[i]!;
  const crc = crc32Mpeg2(out, s, s + section.length);
  const c = s + section.length;
  out[c] = crc >>> 24;
  out[c + 1] = (crc >>> 16) & 0xff;
  out[c + 2] = (crc >>> 8) & 0xff;
  out[c + 3] = crc & 0xff;
  out.fill(0xff, c + 4, o + TS_PACKET);
}

/** section_length counts the bytes after it, CRC included. */
const sectionHeader = (tableId: number, idExt: number, bodyLength: number): number[] => {
  const len = 5 + bodyLength + 4;
  return [tableId, 0xb0 | (len >> 8), len & 0xff, idExt >> 8, idExt & 0xff, 0xc1 /* version 0, current */, 0, 0];
};

/** The PAT: program 1 → PMT on PID_PMT. */
export function writePat(out: Uint8Array, o: number, cc: number): void {
  writeSectionPacket(out, o, PID_PAT, cc, [
    ...sectionHeader(0x00, 1 /* transport_stream_id */, 4),
    PROGRAM_NUMBER >> 8, PROGRAM_NUMBER & 0xff, 0xe0 | (PID_PMT >> 8), PID_PMT & 0xff,
  ]);
}

/** The PMT: H.264 video on PID_VIDEO (also the PCR PID) and, when `audio`, AAC (ADTS) on PID_AUDIO. */
export function writePmt(out: Uint8Array, o: number, cc: number, audio: boolean): void {
  const es = (type: number, pid: number) => [type, 0xe0 | (pid >> 8), pid & 0xff, 0xf0, 0x00];
  const streams = [...es(STREAM_TYPE_H264, PID_VIDEO), ...(audio ? es(STREAM_TYPE_AAC_ADTS, PID_AUDIO) : [])];
  writeSectionPacket(out, o, PID_PMT, cc, [
    ...sectionHeader(0x02, PROGRAM_NUMBER, 4 + streams.length),
    0xe0 | (PID_VIDEO >> 8), PID_VIDEO & 0xff, // PCR_PID
    0xf0, 0x00, // program_info_length 0
    ...streams,
  ]);
}
