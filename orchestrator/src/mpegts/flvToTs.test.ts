import { demux, segmentFacts } from '@segmint/media';
import { FlvToTs, TS_OFFSET_90K, type MuxedSegment } from './flvToTs.js';
import { MpegTsMuxError } from './muxError.js';
import { PID_AUDIO, PID_PAT, PID_PMT, PID_VIDEO, TS_PACKET } from './psi.js';

const SPS = Buffer.from('674d401eeca05017fcb80880000003008000001e078b16cb', 'hex'); // 640x360 Main
const PPS = Buffer.from('68ebecb2', 'hex');
const avcHeader = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0, SPS.length]), SPS, Buffer.from([1, 0, PPS.length]), PPS]);
const aacHeader = Buffer.from([0xaf, 0x00, 0x11, 0x90]); // AAC LC 48 kHz stereo

/** An FLV AVC NALU body: frame type, CTS (ms), one length-prefixed slice of `size` bytes. */
function videoTag(keyframe: boolean, cts: number, size = 50): Buffer {
  const nal = Buffer.alloc(size, 0xab);
  nal[0] = keyframe ? 0x65 : 0x41;
  const b = Buffer.alloc(9 + size);
  b[0] = keyframe ? 0x17 : 0x27;
  b[1] = 1;
  b.writeIntBE(cts, 2, 3);
  b.writeUInt32BE(size, 5);
  nal.copy(b, 9);
  return b;
}
const audioTag = (size = 20) => Buffer.concat([Buffer.from([0xaf, 0x01]), Buffer.alloc(size, 0x21)]);

type Pes = { pid: number; pts: number; dts: number; data: Buffer; rai: boolean; pcr?: number };
const ts33 = (b: Buffer, o: number) => ((b[o]! >> 1) & 7) * 2 ** 30 + ((b[o + 1]! << 7) | (b[o + 2]! >> 1)) * 2 ** 15 + ((b[o + 3]! << 7) | (b[o + 4]! >> 1));

/** Every PES of a segment with its timestamps, plus the PIDs in packet order and CC checks. */
function readSegment(seg: Buffer, cc: Map<number, number>): { pids: number[]; pes: Pes[] } {
  expect(seg.length % TS_PACKET).toBe(0);
  const pids: number[] = [];
  const pes: Pes[] = [];
  const open = new Map<number, { parts: Buffer[]; rai: boolean; pcr?: number }>();
  const close = (pid: number) => {
    const o = open.get(pid);
    if (!o) return;
    const b = Buffer.concat(o.parts);
    expect([...b.subarray(0, 3)]).toEqual([0, 0, 1]);
    const flags = b[7]!;
    const pts = ts33(b, 9);
    pes.push({ pid, pts, dts: flags & 0x40 ? ts33(b, 14) : pts, data: b.subarray(9 + b[8]!), rai: o.rai, pcr: o.pcr });
    open.delete(pid);
  };
  for (let o = 0; o < seg.length; o += TS_PACKET) {
    expect(seg[o]).toBe(0x47);
    const pid = ((seg[o + 1]! & 0x1f) << 8) | seg[o + 2]!;
    pids.push(pid);
    const c = seg[o + 3]! & 0x0f;
    if (cc.has(pid)) expect(c).toBe((cc.get(pid)! + 1) & 0x0f);
    cc.set(pid, c);
    if (pid === PID_PAT || pid === PID_PMT) continue;
    let p = o + 4;
    let rai = false;
    let pcr: number | undefined;
    if (seg[o + 3]! & 0x20) {
      const len = seg[p]!;
      if (len > 0) {
        rai = (seg[p + 1]! & 0x40) !== 0;
        if (seg[p + 1]! & 0x10) pcr = seg[p + 2]! * 2 ** 25 + seg[p + 3]! * 2 ** 17 + seg[p + 4]! * 2 ** 9 + seg[p + 5]! * 2 + (seg[p + 6]! >> 7);
      }
      p += 1 + len;
    }
    if (seg[o + 1]! & 0x40) {
      close(pid);
      open.set(pid, { parts: [], rai, pcr });
    }
    open.get(pid)?.parts.push(seg.subarray(p, o + TS_PACKET));
  }
  for (const pid of [...open.keys()]) close(pid);
  return { pids, pes };
}

/** 30 fps video with B-frame style CTS, AAC every 21 ms, keyframe every `gop` frames, `seconds` long. */
function publish(m: FlvToTs, seconds: number, gop = 60, startMs = 0): void {
  m.push(18, 0, Buffer.from([2, 0, 10]));
  m.push(9, startMs, avcHeader);
  m.push(8, startMs, aacHeader);
  let nextAudio = startMs;
  for (let f = 0; f < seconds * 30; f++) {
    const dts = startMs + Math.round((f * 1000) / 30);
    while (nextAudio <= dts) {
      m.push(8, nextAudio >>> 0, audioTag());
      nextAudio += 21;
    }
    m.push(9, dts >>> 0, videoTag(f % gop === 0, f % 3 === 1 ? 67 : 33));
  }
}

describe('FLV → MPEG-TS muxer', () => {
  it('cuts segments on the keyframe at the target, each starting with PAT, PMT and a keyframe with SPS/PPS', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    publish(m, 7);
    expect(segs.map((s) => s.index)).toEqual([0, 1, 2]); // the 4th (1 s) comes with end()
    m.end();
    segs.forEach((s, i) => expect(Math.abs(s.durationSec - (i < 3 ? 2 : 1))).toBeLessThanOrEqual(1 / 30));
    const cc = new Map<number, number>();
    for (const s of segs) {
      const { pids, pes } = readSegment(s.bytes, cc);
      expect(pids.slice(0, 3)).toEqual([PID_PAT, PID_PMT, PID_VIDEO]);
      const video = pes.filter((p) => p.pid === PID_VIDEO);
      expect(video[0]!.rai).toBe(true);
      expect(video.slice(1).some((p) => p.rai)).toBe(false);
      // AUD, SPS, PPS, then the IDR slice
      expect(video[0]!.data.subarray(0, 6)).toEqual(Buffer.from([0, 0, 0, 1, 9, 0xf0]));
      expect(video[0]!.data.subarray(6, 10 + SPS.length)).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 1]), SPS]));
      expect(video[1]!.data.indexOf(SPS)).toBe(-1);
      // the project's own demuxer reads it: frame count, size from the SPS
      expect(demux(s.bytes).video).toMatchObject({ codec: 'h264', pesCount: video.length });
      expect(demux(s.bytes).audio).toMatchObject({ codec: 'aac' });
    }
  });

  it('writes PTS = DTS + composition time, a PCR below the DTS on every frame, continuous across segments', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    publish(m, 6, 60, 5000); // publisher clocks need not start at 0
    m.end();
    const cc = new Map<number, number>();
    const video = segs.flatMap((s) => readSegment(s.bytes, cc).pes.filter((p) => p.pid === PID_VIDEO));
    expect(video).toHaveLength(180);
    video.forEach((p, f) => {
      const dts = TS_OFFSET_90K + Math.round((f * 1000) / 30) * 90;
      expect(p.dts).toBe(dts);
      expect(p.pts).toBe(dts + (f % 3 === 1 ? 67 : 33) * 90);
      expect(p.pcr).toBeLessThan(p.dts);
    });
  });

  it('puts ADTS frames in audio PES packets of at most ~2.9 kB, each PTS from its first frame', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    m.push(9, 0, avcHeader);
    m.push(8, 0, aacHeader);
    m.push(9, 0, videoTag(true, 0));
    for (let i = 0; i < 40; i++) m.push(8, i * 21, audioTag(300));
    m.end();
    const audio = readSegment(segs[0]!.bytes, new Map()).pes.filter((p) => p.pid === PID_AUDIO);
    expect(audio.length).toBeGreaterThan(1);
    let frame = 0;
    for (const p of audio) {
      expect(p.data.length).toBeLessThanOrEqual(2930);
      expect(p.pts).toBe(TS_OFFSET_90K + frame * 21 * 90);
      for (let o = 0; o < p.data.length; frame++) {
        expect(p.data.readUInt16BE(o) & 0xfff6).toBe(0xfff0); // sync, layer 0
        expect(p.data[o + 1]! & 1).toBe(1); // no CRC
        const len = ((p.data[o + 3]! & 3) << 11) | (p.data[o + 4]! << 3) | (p.data[o + 5]! >> 5);
        expect(len).toBe(307);
        expect(p.data.subarray(o + 7, o + len).every((x) => x === 0x21)).toBe(true);
        o += len;
      }
    }
    expect(frame).toBe(40);
  });

  it('segments of a jittery encoder (GStreamer: 31 and 35 ms frame gaps) read as 30 fps with every frame counted', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    m.push(9, 0, avcHeader);
    for (let f = 0; f < 4 * 30; f++) m.push(9, Math.round((f * 1000) / 30) + (f % 2 ? 2 : -2) + 2, videoTag(f % 60 === 0, 0));
    m.end();
    expect(segs).toHaveLength(2);
    for (const s of segs) {
      const facts = segmentFacts(s.bytes);
      expect(facts.frames).toBe(60);
      expect(facts.fps).toBeCloseTo(30, 0);
      expect(Math.abs(facts.durationSec - 2)).toBeLessThanOrEqual(1 / 30);
    }
  });

  it('drops media before the first keyframe and frames before the AVC sequence header', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    m.push(9, 0, videoTag(true, 0)); // no configuration yet
    m.push(9, 10, avcHeader);
    m.push(8, 10, aacHeader);
    m.push(8, 11, audioTag());
    m.push(9, 33, videoTag(false, 0));
    m.push(9, 67, videoTag(true, 0));
    m.push(9, 100, videoTag(false, 0));
    m.end();
    expect(segs).toHaveLength(1);
    const { pes } = readSegment(segs[0]!.bytes, new Map());
    expect(pes.map((p) => [p.pid, p.dts - TS_OFFSET_90K])).toEqual([[PID_VIDEO, 0], [PID_VIDEO, 33 * 90]]);
  });

  it('does not cut at a keyframe tag that carries no NAL unit (every segment still starts with a frame)', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    m.push(9, 0, avcHeader);
    m.push(9, 0, videoTag(true, 0));
    for (let f = 1; f < 60; f++) m.push(9, Math.round((f * 1000) / 30), videoTag(false, 0));
    m.push(9, 2000, Buffer.from([0x17, 1, 0, 0, 0])); // keyframe without data
    m.push(9, 2033, videoTag(false, 0));
    m.push(9, 2067, videoTag(true, 0));
    m.end();
    expect(segs).toHaveLength(2);
    for (const s of segs) expect(readSegment(s.bytes, new Map()).pes[0]!.rai).toBe(true);
  });

  it('keeps timestamps running across the 32-bit RTMP timestamp wrap', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    publish(m, 5, 60, 2 ** 32 - 3000);
    m.end();
    expect(segs).toHaveLength(3);
    segs.forEach((s, i) => expect(Math.abs(s.durationSec - (i < 2 ? 2 : 1))).toBeLessThanOrEqual(1 / 30));
    const video = segs.flatMap((s) => readSegment(s.bytes, new Map()).pes.filter((p) => p.pid === PID_VIDEO));
    for (let i = 1; i < video.length; i++) expect(video[i]!.dts - video[i - 1]!.dts).toBeGreaterThan(0);
  });

  it('writes later segments into the buffers of released ones, and never touches a segment not released', () => {
    const segs: MuxedSegment[] = [];
    const m = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    publish(m, 9);
    m.end();
    const copies = segs.map((s) => Buffer.from(s.bytes));
    // held segments are distinct buffers, unchanged by the muxing after them
    expect(new Set(segs.map((s) => s.bytes.buffer)).size).toBe(segs.length);
    segs.forEach((s, i) => expect(s.bytes).toEqual(copies[i]));

    const seen: ArrayBufferLike[] = [];
    const r = new FlvToTs({ segmentSec: 2, onSegment: (s) => (seen.push(s.bytes.buffer), s.release()) });
    publish(r, 9);
    r.end();
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBeLessThanOrEqual(3); // the one being written and the spares
  });

  it('throws on a segment that grows past its limit without a keyframe, and on malformed frames', () => {
    const m = new FlvToTs({ segmentSec: 2, maxSegmentBytes: 100_000, onSegment: () => {} });
    m.push(9, 0, avcHeader);
    m.push(9, 0, videoTag(true, 0));
    expect(() => {
      for (let i = 1; i < 1000; i++) m.push(9, i * 33, videoTag(false, 0, 1000));
    }).toThrow(MpegTsMuxError);
    const bad = videoTag(false, 0);
    bad.writeUInt32BE(5000, 5);
    expect(() => m.push(9, 0, bad)).toThrow(/runs past the frame/);
    expect(() => m.push(9, 0, Buffer.from([0x17, 0, 0, 0, 0, 1, 2, 3]))).toThrow(/AVCDecoderConfigurationRecord/);
  });
});
