import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath } from '@segmint/media';
import { calibrate } from './calibrate.js';
import { workingEncoders } from './probe.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-caps-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('workingEncoders', () => {
  it('offers libx264 with the shipped ffmpeg', async () => {
    expect(await workingEncoders()).toContain('libx264');
  });

  it('does not offer an encoder that is listed but cannot encode (NVENC on a machine without a GPU)', async () => {
    // An ffmpeg that lists h264_nvenc (as NVENC builds do everywhere) but fails to open it.
    const fake = join(dir, 'ffmpeg-nvenc-listed.sh');
    await writeFile(fake, `#!/bin/sh
case "$*" in
  *-encoders*) "${ffmpegPath()}" "$@"; echo " V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)"; exit 0 ;;
  *h264_nvenc*) echo "Cannot load libcuda.so.1" >&2; exit 1 ;;
  *) exec "${ffmpegPath()}" "$@" ;;
esac
`);
    await chmod(fake, 0o755);
    expect(await workingEncoders(fake)).toEqual(['libx264']);
  });
});

describe('calibrate', () => {
  it('measures how many segments run side by side within the headroom, and caches it', async () => {
    const file = join(dir, 'calibration.json');
    const first = await calibrate({ file });
    expect(first.cached).toBe(false);
    expect(first.maxConcurrent).toBeGreaterThanOrEqual(1);
    expect(first.maxConcurrent).toBeLessThanOrEqual(cpus().length);
    expect(first.secondsPerSegment[1]).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ maxConcurrent: first.maxConcurrent });
    const again = await calibrate({ file });
    expect(again).toEqual({ ...first, cached: true });
  }, 120_000);
});
