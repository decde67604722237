/**
 * The bytes of one MPEG-TS segment being written: a growable buffer, the continuity counters of
 * every PID (they run on across segments), and PES packetization into 188-byte TS packets.
 *
 * A PES is packetized in place, without a copy per packet: the caller reserves the packets'
 * room with `reservePes`, writes the PES (header + payload) contiguously at the END of that room,
 * and `packetize` then walks it from the front, moving each 184-byte slice left (copyWithin) and
 * writing the 4-byte header (and adaptation field) in front of it. The moves never overwrite bytes
 * not yet moved: every packet adds at least its header, so the unread data always lies to the
 * right of where the next packet is written.
 */
import { PID_PAT, PID_PMT, TS_PACKET, writePat, writePmt } from './psi.js';

const TS_HEADER = 4;
const TS_PAYLOAD = TS_PACKET - TS_HEADER;
/** 33-bit PTS/DTS/PCR base. */
export const TIMESTAMP_WRAP = 2 ** 33;

export type PesOptions = {
  pid: number;
  /** Program clock reference (90 kHz base) carried in the first packet's adaptation field. */
  pcr?: number;
  /** random_access_indicator on the first packet (a keyframe starts here). */
  randomAccess?: boolean;
};

/** Where a reserved PES goes: write `length` bytes at `dataStart`, then call `packetize`. */
export type PesRoom = { start: number; packets: number; dataStart: number; length: number; firstAf: number };

export class TsOutput {
  buf: Buffer;
  /** Bytes written so far. */
  length = 0;
  private readonly cc = new Map<number, number>();

  constructor(initialBytes = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private nextCc(pid: number): number {
    const c = this.cc.get(pid) ?? 0;
    this.cc.set(pid, (c + 1) & 0x0f);
    return c;
  }

  /** Makes room for `n` more bytes (doubling, one copy of what is written). */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** PAT + PMT, as every segment starts. */
  writeTables(audio: boolean): void {
    this.ensure(2 * TS_PACKET);
    writePat(this.buf, this.length, this.nextCc(PID_PAT));
    writePmt(this.buf, this.length + TS_PACKET, this.nextCc(PID_PMT), audio);
    this.length += 2 * TS_PACKET;
  }

  /**
   * Reserves the packets for a PES of `length` bytes (header included) and says where to write it.
   * Nothing is committed until `packetize`.
   */
  reservePes(length: number, o: PesOptions): PesRoom {
    // first packet's adaptation field: length byte + flags byte + 6 bytes of PCR
    const firstAf = o.pcr !== undefined ? 8 : o.randomAccess ? 2 : 0;
    const firstRoom = TS_PAYLOAD - firstAf;
    const packets = length <= firstRoom ? 1 : 1 + Math.ceil((length - firstRoom) / TS_PAYLOAD);
    this.ensure(packets * TS_PACKET);
    const start = this.length;
    return { start, packets, dataStart: start + packets * TS_PACKET - length, length, firstAf };
  }

  /** Turns the PES written at `room.dataStart` into TS packets in place and commits them. */
  packetize(room: PesRoom, o: PesOptions): void {
    const b = this.buf;
    let src = room.dataStart;
    const end = room.dataStart + room.length;
    let p = room.start;
    for (let i = 0; i < room.packets; i++, p += TS_PACKET) {
      const left = end - src;
      let af = i === 0 ? room.firstAf : 0; // adaptation field bytes, its length byte included
      let room184 = TS_PAYLOAD - af;
      // the last packet: stuff the adaptation field so the payload ends the packet
      if (left < room184) {
        af += room184 - left;
        room184 = left;
      }
      const payloadAt = p + TS_HEADER + af;
      b.copyWithin(payloadAt, src, src + room184); // payload first: it may overlap this header's bytes
      src += room184;
      b[p] = 0x47;
      b[p + 1] = (i === 0 ? 0x40 : 0) | (o.pid >> 8);
      b[p + 2] = o.pid & 0xff;
      b[p + 3] = (af ? 0x30 : 0x10) | this.nextCc(o.pid);
      if (af) {
        const a = p + TS_HEADER;
        b[a] = af - 1; // adaptation_field_length
        if (af > 1) {
          let flags = 0;
          let q = a + 2;
          if (i === 0 && o.randomAccess) flags |= 0x40;
          if (i === 0 && o.pcr !== undefined) {
            flags |= 0x10;
            writePcr(b, q, o.pcr);
            q += 6;
          }
          b[a + 1] = flags;
          b.fill(0xff, q, payloadAt);
        }
      }
    }
    this.length = room.start + room.packets * TS_PACKET;
  }

  /** Hands over the buffer written so far (`bytes`: what was written; `buffer`: all of it) and goes on in `next`. */
  swap(next: Buffer): { bytes: Buffer; buffer: Buffer } {
    const done = { bytes: this.buf.subarray(0, this.length), buffer: this.buf };
    this.buf = next;
    this.length = 0;
    return done;
  }
}

/** PCR: 33-bit base, 6 reserved bits, 9-bit extension (0). */
function writePcr(b: Buffer, o: number, base90k: number): void {
  const v = ((base90k % TIMESTAMP_WRAP) + TIMESTAMP_WRAP) % TIMESTAMP_WRAP;
  b[o] = Math.floor(v / 2 ** 25) & 0xff;
  b[o + 1] = Math.floor(v / 2 ** 17) & 0xff;
  b[o + 2] = Math.floor(v / 2 ** 9) & 0xff;
  b[o + 3] = Math.floor(v / 2) & 0xff;
  b[o + 4] = ((v & 1) << 7) | 0x7e;
  b[o + 5] = 0;
}

/**
 * A PES header (ISO/IEC 13818-1 2.4.3.6) at `o`: PTS, and DTS when it differs. `payloadLength`
 * sets PES_packet_length; 0 (allowed for video only) leaves it unbounded. Returns the header size.
 */
export function writePesHeader(b: Uint8Array, o: number, streamId: number, pts: number, dts: number, payloadLength: number): number {
  const withDts = dts !== pts;
  const headerData = withDts ? 10 : 5;
  const pesLength = payloadLength === 0 ? 0 : 3 + headerData + payloadLength;
  b[o] = 0;
  b[o + 1] = 0;
  b[o + 2] = 1;
  b[o + 3] = streamId;
  b[o + 4] = pesLength >> 8;
  b[o + 5] = pesLength & 0xff;
  b[o + 6] = 0x84; // '10', data_alignment_indicator
  b[o + 7] = withDts ? 0xc0 : 0x80;
  b[o + 8] = headerData;
  writeTimestamp(b, o + 9, withDts ? 0x3 : 0x2, pts);
  if (withDts) writeTimestamp(b, o + 14, 0x1, dts);
  return 9 + headerData;
}

export const pesHeaderSize = (pts: number, dts: number) => (pts === dts ? 14 : 19);

/** 33-bit timestamp in 5 bytes: prefix(4) ts[32..30] marker ts[29..15] marker ts[14..0] marker. */
export function writeTimestamp(b: Uint8Array, o: number, prefix: number, ts: number): void {
  const v = ((ts % TIMESTAMP_WRAP) + TIMESTAMP_WRAP) % TIMESTAMP_WRAP;
  const hi = Math.floor(v / 2 ** 30) & 0x07;
  const mid = Math.floor(v / 2 ** 15) & 0x7fff;
  const lo = v % 2 ** 15;
  b[o] = (prefix << 4) | (hi << 1) | 1;
  b[o + 1] = mid >> 7;
  b[o + 2] = ((mid & 0x7f) << 1) | 1;
  b[o + 3] = lo >> 7;
  b[o + 4] = ((lo & 0x7f) << 1) | 1;
}
