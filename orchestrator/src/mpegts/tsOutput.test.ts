import { crc32Mpeg2, PID_PAT, PID_PMT, TS_PACKET } from './psi.js';
import { TsOutput, writePesHeader, writeTimestamp, type PesOptions } from './tsOutput.js';

/** Reads a 5-byte PES timestamp (33 bits). */
const readTs = (b: Uint8Array, o: number) =>
  ((b[o]! >> 1) & 0x07) * 2 ** 30 + ((b[o + 1]! << 7) | (b[o + 2]! >> 1)) * 2 ** 15 + ((b[o + 3]! << 7) | (b[o + 4]! >> 1));

type Packet = { pusi: boolean; pid: number; cc: number; af: Buffer | null; payload: Buffer };
function packets(b: Buffer): Packet[] {
  expect(b.length % TS_PACKET).toBe(0);
  const out: Packet[] = [];
  for (let o = 0; o < b.length; o += TS_PACKET) {
    expect(b[o]).toBe(0x47);
    const afc = (b[o + 3]! >> 4) & 3;
    let p = o + 4;
    let af: Buffer | null = null;
    if (afc & 2) {
      af = b.subarray(p + 1, p + 1 + b[p]!);
      p += 1 + b[p]!;
    }
    expect(p).toBeLessThanOrEqual(o + TS_PACKET);
    out.push({ pusi: (b[o + 1]! & 0x40) !== 0, pid: ((b[o + 1]! & 0x1f) << 8) | b[o + 2]!, cc: b[o + 3]! & 0x0f, af, payload: afc & 1 ? b.subarray(p, o + TS_PACKET) : Buffer.alloc(0) });
  }
  return out;
}

function pes(out: TsOutput, data: Buffer, o: PesOptions): void {
  const room = out.reservePes(data.length, o);
  data.copy(out.buf, room.dataStart);
  out.packetize(room, o);
}

describe('MPEG-TS packetization', () => {
  it('CRC-32/MPEG-2 of "123456789" is 0x0376E6E7', () => {
    expect(crc32Mpeg2(Buffer.from('123456789'))).toBe(0x0376e6e7);
  });

  it('encodes PTS/DTS in 5 bytes with markers and prefixes, 33 bits, wrapping', () => {
    const b = Buffer.alloc(5);
    writeTimestamp(b, 0, 0x2, 126_000);
    expect([...b]).toEqual([0x21, 0x00, 0x07, 0xd8, 0x61]);
    writeTimestamp(b, 0, 0x2, 2 ** 33 - 1);
    expect([...b]).toEqual([0x2f, 0xff, 0xff, 0xff, 0xff]);
    writeTimestamp(b, 0, 0x1, 2 ** 33 + 5); // wraps
    expect(readTs(b, 0)).toBe(5);
    expect(b[0]! >> 4).toBe(1);
    for (const v of [0, 1, 90_000, 2 ** 32 + 12_345, 2 ** 33 - 2]) {
      writeTimestamp(b, 0, 0x3, v);
      expect(readTs(b, 0)).toBe(v);
      expect(b[0]! & 1 && b[2]! & 1 && b[4]! & 1).toBe(1);
    }
  });

  it('writes a PES header with PTS only, or PTS and DTS when they differ', () => {
    const b = Buffer.alloc(19);
    expect(writePesHeader(b, 0, 0xc0, 1000, 1000, 300)).toBe(14);
    expect([...b.subarray(0, 9)]).toEqual([0, 0, 1, 0xc0, 0x01, 0x34, 0x84, 0x80, 5]); // length 3 + 5 + 300 = 308
    expect(readTs(b, 9)).toBe(1000);
    expect(b[9]! >> 4).toBe(0x2);
    expect(writePesHeader(b, 0, 0xe0, 4003, 1000, 0)).toBe(19);
    expect([...b.subarray(0, 9)]).toEqual([0, 0, 1, 0xe0, 0, 0, 0x84, 0xc0, 10]); // video: unbounded length
    expect(b[9]! >> 4).toBe(0x3);
    expect(readTs(b, 9)).toBe(4003);
    expect(b[14]! >> 4).toBe(0x1);
    expect(readTs(b, 14)).toBe(1000);
  });

  it('splits PES of every size at the packet boundaries into 188-byte packets, stuffing the last one', () => {
    const out = new TsOutput(512); // small: growing is exercised too
    const sizes = [1, 2, 175, 176, 177, 182, 183, 184, 185, 367, 368, 369, 1000, 20_000];
    const sent: Array<{ data: Buffer; o: PesOptions }> = [];
    let seed = 7;
    for (const size of sizes) {
      for (const o of [{ pid: 0x100 }, { pid: 0x100, randomAccess: true }, { pid: 0x100, pcr: 2 ** 33 - 3, randomAccess: true }, { pid: 0x101 }] as PesOptions[]) {
        const data = Buffer.alloc(size);
        for (let i = 0; i < size; i++) data[i] = seed = (seed * 1103515245 + 12345) & 0xff;
        pes(out, data, o);
        sent.push({ data, o });
      }
    }
    const all = packets(out.swap(Buffer.alloc(4096)).bytes);
    const lastCc = new Map<number, number>();
    let i = 0;
    for (const { data, o } of sent) {
      const mine: Packet[] = [];
      do mine.push(all[i++]!);
      while (i < all.length && !all[i]!.pusi);
      expect(mine.every((p) => p.pid === o.pid)).toBe(true);
      expect(mine[0]!.pusi).toBe(true);
      expect(Buffer.concat(mine.map((p) => p.payload))).toEqual(data);
      for (const p of mine) {
        // continuity: +1 per packet of the PID, mod 16
        if (lastCc.has(p.pid)) expect(p.cc).toBe((lastCc.get(p.pid)! + 1) & 0x0f);
        lastCc.set(p.pid, p.cc);
      }
      // only the last packet may be short of payload (stuffed through the adaptation field)
      for (const p of mine.slice(0, -1)) expect(p.payload.length).toBe(184 - (p.af ? p.af.length + 1 : 0));
      const af = mine[0]!.af;
      if (o.pcr !== undefined) {
        expect(af![0]! & 0x10).toBe(0x10);
        const base = af![1]! * 2 ** 25 + af![2]! * 2 ** 17 + af![3]! * 2 ** 9 + af![4]! * 2 + (af![5]! >> 7);
        expect(base).toBe(o.pcr);
      }
      if (o.randomAccess) expect(af![0]! & 0x40).toBe(0x40);
      else if (af && af.length) expect(af[0]! & 0x50).toBe(0);
      for (const p of mine) if (p.af && p.af.length > 1) expect(p.af.subarray(p.af[0]! & 0x10 ? 7 : 1).every((x) => x === 0xff)).toBe(true);
    }
    expect(i).toBe(all.length);
  });

  it('starts a segment with PAT and PMT whose CRCs check, counters running on across segments', () => {
    const out = new TsOutput();
    out.writeTables(true);
    out.swap(Buffer.alloc(4096)).bytes;
    out.writeTables(false);
    const [pat, pmt] = packets(out.swap(Buffer.alloc(4096)).bytes);
    expect([pat!.pid, pat!.cc, pmt!.pid, pmt!.cc]).toEqual([PID_PAT, 1, PID_PMT, 1]);
    for (const p of [pat!, pmt!]) {
      const s = p.payload.subarray(1); // pointer field 0
      const len = ((s[1]! & 0x0f) << 8) | s[2]!;
      expect(crc32Mpeg2(s, 0, 3 + len)).toBe(0); // CRC over the section including its CRC
    }
    // the PMT without audio lists one stream: H.264 on 0x100, also the PCR PID
    const s = pmt!.payload.subarray(1);
    expect(((s[8]! & 0x1f) << 8) | s[9]!).toBe(0x100);
    expect([...s.subarray(12, 17)]).toEqual([0x1b, 0xe1, 0x00, 0xf0, 0x00]);
    expect(((s[1]! & 0x0f) << 8) | s[2]!).toBe(9 + 5 + 4);
  });
});
