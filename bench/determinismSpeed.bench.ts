/**
 * Is there a faster x264 profile that stays reproducible? Wall time of the default ladder on one
 * 2 s 1080p segment (→ 720p/480p/360p/240p, one ffmpeg process, as a worker runs it) for the
 * adopted profile and candidates of X264_CANDIDATES, runs interleaved; each run's bytes are
 * compared with the first run of its profile (reproducible run to run on this machine; across
 * SIMD levels and architectures: npm run determinism -- --profile NAME).
 * Last line: `x264 profiles (median of N): current X.XX s, frame-threads-2 Y.YY s (Z.ZZ×), …`.
 * Usage: npm run bench:determinism [-- --runs 3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath } from '../media/src/binaries.js';
import { makeSource, runLadder, X264_CANDIDATES, type LadderRun } from '../media/src/transcode/determinism.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 3;
const PROFILES = ['current', 'frame-threads-2', 'sliced-threads-2', 'no-lookahead', 'frame-threads-2-no-lookahead'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-x264-'));
  try {
    console.log('generating a 2 s 1920x1080 30 fps camera-like segment…');
    const source = await makeSource(dir, { name: 'camera-1080p30', kind: 'camera', width: 1920, height: 1080, rate: '30', seconds: 2 });
    const machine = { name: 'default', ffmpeg: ffmpegPath(), arch: process.arch };
    const times = new Map<string, number[]>();
    const first = new Map<string, LadderRun>();
    let unreproducible = 0;
    for (let i = 0; i < RUNS; i++) {
      for (const name of PROFILES) {
        const x264 = X264_CANDIDATES[name]!;
        const r = await runLadder(source, machine, join(dir, `${name}-${i}`), x264);
        times.set(name, [...(times.get(name) ?? []), r.ms]);
        const ref = first.get(name) ?? r;
        first.set(name, ref);
        const same = JSON.stringify(ref.renditions) === JSON.stringify(r.renditions);
        if (!same) unreproducible++;
        console.log(`run ${i + 1} ${name}: ${(r.ms / 1000).toFixed(2)} s${same ? '' : ' BYTES DIFFER from its first run'}`);
        await rm(join(dir, `${name}-${i}`), { recursive: true, force: true });
      }
    }
    const base = median(times.get('current')!);
    const parts = [...times].map(([name, ms]) => `${name} ${(median(ms) / 1000).toFixed(2)} s${name === 'current' ? '' : ` (${(base / median(ms)).toFixed(2)}×)`}`);
    console.log(`runs differing from their first: ${unreproducible}`);
    console.log(`x264 profiles (median of ${RUNS}): ${parts.join(', ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
