import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demux, generateSegments, isMpegTs, nominalFrameRate, probe, segmentFacts } from '@segmint/media';

let dir: string;
let files: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-mpegts-'));
  files = await generateSegments({ dir, count: 2, width: 640, height: 360, fps: 30 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('mpegts', () => {
  it('recognises MPEG-TS and rejects other bytes', async () => {
    expect(isMpegTs(await readFile(files[0]!))).toBe(true);
    expect(isMpegTs(Buffer.from('<html>not video</html>'))).toBe(false);
    expect(isMpegTs(Buffer.alloc(188 * 3))).toBe(false); // no sync bytes
    const ts = await readFile(files[0]!);
    expect(isMpegTs(ts.subarray(0, ts.length - 10))).toBe(false); // truncated packet
  });

  it('reads the same codec, size, frame count and duration as ffprobe', async () => {
    for (const file of files) {
      const facts = segmentFacts(await readFile(file));
      const probed = await probe(file);
      expect(facts.videoCodec).toBe(probed.video!.codec);
      expect(facts.audioCodec).toBe(probed.audio!.codec);
      expect(facts.width).toBe(probed.video!.width);
      expect(facts.height).toBe(probed.video!.height);
      expect(facts.frames).toBe(probed.video!.packets);
      expect(facts.fps).toBeCloseTo(30, 3);
      expect(facts.videoCodecString).toMatch(/^avc1\.[0-9a-f]{6}$/);
      expect(Math.abs(facts.durationSec - probed.video!.durationSec!)).toBeLessThan(1 / 30);
    }
  });

  it('hashes the video elementary stream, not the container', async () => {
    const a = segmentFacts(await readFile(files[0]!));
    const b = segmentFacts(await readFile(files[1]!));
    expect(a.videoSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.videoSha256).not.toBe(b.videoSha256);
    const { video } = demux(await readFile(files[0]!));
    expect(video!.bytes.subarray(0, 4).equals(Buffer.from([0, 0, 0, 1]))).toBe(true); // Annex B
  });

  it('keeps timestamps continuous across generated segments', async () => {
    const a = segmentFacts(await readFile(files[0]!));
    const b = segmentFacts(await readFile(files[1]!));
    expect(Math.abs(a.startSec + a.durationSec - b.startSec)).toBeLessThan(1 / 30 / 2);
  });
});

describe('nominalFrameRate', () => {
  it.each([
    [30.5, 30], [29.6, 29.97], [30.303, 30], [32.258, 32.258], [29.97, 29.97], [29.9, 29.97], [25.3, 25], [59.5, 59.94], [10, 10], [12.5, 12.5], [31, 31],
  ])('reads %p fps as %p', (measured, nominal) => {
    expect(nominalFrameRate(measured)).toBe(nominal);
  });
});
