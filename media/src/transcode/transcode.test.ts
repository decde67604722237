import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, generateSegments, probe, segmentFacts } from '../index.js';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';
import { encoderFingerprint, fingerprintEncoder, simdClass, transcodeSegment } from './transcode.js';

let dir: string;
let source: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-transcode-'));
  source = (await generateSegments({ dir: join(dir, 'src'), count: 1, width: 1280, height: 720 }))[0]!;
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const ladderFor = (facts: { width: number; height: number }) => capProfiles(DEFAULT_PROFILES, facts);

async function transcodeInto(name: string) {
  const facts = segmentFacts(await readFile(source));
  const outDir = join(dir, name);
  await mkdir(outDir, { recursive: true });
  return transcodeSegment({ input: source, source: facts, profiles: ladderFor(facts), outDir });
}

describe('transcodeSegment', () => {
  it('writes every rendition of the ladder with the right size, codec, frames and duration', async () => {
    const src = segmentFacts(await readFile(source));
    const { renditions } = await transcodeInto('ladder');
    expect(renditions.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual([
      '240p0 426x240', '360p0 640x360', '480p0 854x480', '720p0 1280x720',
    ]);
    for (const r of renditions) {
      const p = await probe(r.path);
      expect(p.video?.codec).toBe('h264');
      expect(p.audio?.codec).toBe('aac');
      expect([p.video?.width, p.video?.height]).toEqual([r.width, r.height]);
      expect(p.video?.packets).toBe(src.frames);
      expect(r.frames).toBe(src.frames);
      expect(Math.abs(r.durationSec - src.durationSec)).toBeLessThanOrEqual(1 / 30);
      // timestamps kept from the source, so consecutive segments play back continuously
      expect(Math.abs(segmentFacts(await readFile(r.path)).startSec - src.startSec)).toBeLessThan(1 / 30);
    }
  });

  it('is deterministic: same input gives the same sha256 across runs and core counts', async () => {
    const first = await transcodeInto('run1');
    // Second run pinned to one core through a wrapper around the same ffmpeg binary.
    const wrapper = join(dir, 'ffmpeg-one-core.sh');
    await writeFile(wrapper, `#!/bin/sh\nexec taskset -c 0 "${ffmpegPath()}" "$@"\n`);
    await chmod(wrapper, 0o755);
    process.env.FFMPEG_PATH = wrapper;
    try {
      const second = await transcodeInto('run2');
      expect(second.renditions.map((r) => r.sha256)).toEqual(first.renditions.map((r) => r.sha256));
    } finally {
      delete process.env.FFMPEG_PATH;
    }
    const third = await transcodeInto('run3');
    expect(third.renditions.map((r) => r.sha256)).toEqual(first.renditions.map((r) => r.sha256));
    expect(new Set(first.renditions.map((r) => r.sha256)).size).toBe(first.renditions.length);
  }, 120_000);

  it('names the ffmpeg build, x264 build, settings, ladder version and CPU in its fingerprint, computed once', async () => {
    const fp = await encoderFingerprint();
    expect(fp).toMatch(/^ffmpeg\/[^;@]+@[0-9a-f]{12};libx264;x264=\d+-r\d+-[0-9a-f]+;preset=veryfast;threads=1;params=mbtree=0;ladder-v3;arch=\w+;simd=\w+$/);
    expect(fp.endsWith(`;arch=${process.arch};simd=${simdClass(process.arch)}`)).toBe(true);
    expect(fingerprintEncoder(fp)).toBe('libx264');
    expect(encoderFingerprint()).toBe(encoderFingerprint()); // the same cached promise
    // plain C (-cpuflags 0) runs x264's other decision path: another fingerprint
    expect(await encoderFingerprint('libx264', { cpuflags: '0' })).toMatch(/;simd=(base|c)$/);
    expect(fingerprintEncoder(await encoderFingerprint('h264_nvenc'))).toBe('h264_nvenc');
  });

  it('tells builds of one ffmpeg version apart: the fingerprint changes with the -version output', async () => {
    // A wrapper that runs the same binary but prints one more -version line, as a build with
    // another configuration or library version would.
    const other = join(dir, 'ffmpeg-other-build.sh');
    await writeFile(other, `#!/bin/sh\n"${ffmpegPath()}" "$@"; s=$?\n[ "$1" = -version ] && echo "libfoo 1.2.3"\nexit $s\n`);
    await chmod(other, 0o755);
    const [mine, theirs] = [await encoderFingerprint(), await encoderFingerprint('libx264', { ffmpeg: other })];
    expect(theirs.split('@')[0]).toBe(mine.split('@')[0]); // same version...
    expect(theirs).not.toBe(mine); // ...another build
  });
});
