import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encoderFingerprint, generateSegments, segmentFacts, transcodeSegment, type H264Encoder } from '@segmint/media';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';

export const CALIBRATION_FILE = join(homedir(), '.segmint', 'calibration.json');

/** A worker must finish a segment in this fraction of its duration to count as keeping up. */
const HEADROOM = 0.8;

export type CalibrationReturnType = { maxConcurrent: number; secondsPerSegment: Record<number, number>; cached: boolean };

/**
 * How many 720p segments (full default ladder) this machine transcodes side by side while each
 * still finishes within HEADROOM × its duration: runs 1, 2, 4 … up to the core count at once, stops
 * at the first level that is too slow. Cached per ffmpeg build and core count (it takes seconds).
 */
export async function calibrate(opts: { file?: string; encoder?: H264Encoder; onProgress?: (msg: string) => void } = {}): Promise<CalibrationReturnType> {
  const file = opts.file ?? CALIBRATION_FILE;
  const key = `${await encoderFingerprint(opts.encoder)}|cores=${cpus().length}`;
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as { key: string; maxConcurrent: number; secondsPerSegment: Record<number, number> };
    if (cached.key === key) return { maxConcurrent: cached.maxConcurrent, secondsPerSegment: cached.secondsPerSegment, cached: true };
  } catch {
    /* no cache yet */
  }
  const dir = await mkdtemp(join(tmpdir(), 'segmint-calibrate-'));
  try {
    const [segment] = await generateSegments({ dir, count: 1, segmentSec: 2, width: 1280, height: 720, fps: 30 });
    const bytes = await readFile(segment!);
    const facts = segmentFacts(bytes);
    const profiles = capProfiles(DEFAULT_PROFILES, facts);
    const secondsPerSegment: Record<number, number> = {};
    let maxConcurrent = 1;
    for (let n = 1; n <= cpus().length; n *= 2) {
      opts.onProgress?.(`calibrating: ${n} segment(s) at once`);
      const times = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const out = join(dir, `out-${n}-${i}`);
          await mkdir(out);
          return (await transcodeSegment({ input: segment!, source: facts, profiles, outDir: out, encoder: opts.encoder })).transcodeMs / 1000;
        }),
      );
      const worst = Math.max(...times);
      secondsPerSegment[n] = Number(worst.toFixed(3));
      if (worst > facts.durationSec * HEADROOM) break;
      maxConcurrent = n;
    }
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ key, maxConcurrent, secondsPerSegment }, null, 2));
    return { maxConcurrent, secondsPerSegment, cached: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
