import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath, generateSegments, probe, segmentFacts } from '../index.js';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';
import { encoderFingerprint, transcodeSegment } from './transcode.js';

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

  it('names the ffmpeg build, encoder and settings in its fingerprint', async () => {
    expect(await encoderFingerprint()).toMatch(/^ffmpeg\/\S+;libx264;preset=veryfast;threads=1;ladder-v1$/);
  });
});
