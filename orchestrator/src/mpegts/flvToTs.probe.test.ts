/**
 * The muxer against the real tools: a 1080p30 H.264 (B-frames) + AAC FLV made by ffmpeg goes
 * through FlvToTs; Debian's ffprobe must read every segment with the right codecs, a video
 * duration within one frame of the 2 s target and timestamps that continue from one segment to
 * the next, and ffmpeg must decode the concatenated segments without a single error.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, probe, run, segmentFacts } from '@segmint/media';
import { FlvToTs, type MuxedSegment } from './flvToTs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-flvtots-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Calls `tag` for each FLV tag of a file (type, 32-bit ms timestamp, body). */
function readFlv(flv: Buffer, tag: (type: number, ts: number, body: Buffer) => void): void {
  expect(flv.subarray(0, 3).toString()).toBe('FLV');
  for (let o = flv.readUInt32BE(5) + 4; o + 11 <= flv.length; ) {
    const size = flv.readUIntBE(o + 1, 3);
    tag(flv[o]!, (flv.readUIntBE(o + 4, 3) | (flv[o + 7]! << 24)) >>> 0, flv.subarray(o + 11, o + 11 + size));
    o += 11 + size + 4;
  }
}

describe('FLV → MPEG-TS muxer with real ffmpeg and ffprobe', () => {
  it('segments a 1080p30 B-frame H.264 + AAC stream into 2 s segments that ffprobe reads right and ffmpeg decodes cleanly', async () => {
    const flvFile = join(dir, 'in.flv');
    await run(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '7',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '3M',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-f', 'flv', flvFile,
    ], { timeoutMs: 120_000 });

    const segs: MuxedSegment[] = [];
    const muxer = new FlvToTs({ segmentSec: 2, onSegment: (s) => segs.push(s) });
    readFlv(await readFile(flvFile), (type, ts, body) => {
      const reused = Buffer.from(body); // the muxer must not keep the body: scribble over it afterwards
      muxer.push(type, ts, reused);
      reused.fill(0x5a);
    });
    muxer.end();
    expect(segs).toHaveLength(4); // 2 + 2 + 2 + 1 s

    const frame = 1 / 30;
    let prevEnd: number | null = null;
    for (const s of segs) {
      const file = join(dir, `${s.index}.ts`);
      await writeFile(file, s.bytes);
      const p = await probe(file);
      expect(p.formatName).toBe('mpegts');
      expect(p.video).toMatchObject({ codec: 'h264', width: 1920, height: 1080 });
      expect(p.audio).toMatchObject({ codec: 'aac' });
      const target = s.index < 3 ? 2 : 1;
      expect(Math.abs(p.video!.durationSec! - target)).toBeLessThanOrEqual(frame + 1e-6);
      expect(p.video!.packets).toBe(target * 30);
      // the next segment's video starts where this one's ended
      if (prevEnd !== null) expect(Math.abs(p.video!.startSec! - prevEnd)).toBeLessThan(0.002);
      prevEnd = p.video!.startSec! + p.video!.durationSec!;
      // what ingestSegment reads from it agrees
      const facts = segmentFacts(s.bytes);
      expect(facts).toMatchObject({ videoCodec: 'h264', audioCodec: 'aac', width: 1920, height: 1080, frames: target * 30 });
      expect(Math.abs(facts.durationSec - target)).toBeLessThanOrEqual(frame + 1e-6);
    }

    const all = join(dir, 'all.ts');
    await writeFile(all, Buffer.concat(segs.map((s) => s.bytes)));
    const decoded = await run(ffmpegPath(), ['-hide_banner', '-v', 'error', '-i', all, '-f', 'null', '-'], { timeoutMs: 120_000 });
    expect(decoded.stderr.toString()).toBe('');
  }, 180_000);
});
