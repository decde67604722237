/**
 * Is the verifiable profile bit-exact across machines? Runs the default ladder over a set of
 * sources (test pattern, camera-like noise, 29.97 fps with 44.1 kHz mono audio, 60 fps, odd sizes)
 * at every x86-64 SIMD level this CPU has (-cpuflags, and x264's asm level with it) and on the
 * npm arm64 build under qemu-aarch64-static, then compares every rendition's whole file (video,
 * audio, mux) between runs of one source with the same encoder fingerprint.
 * Prints one line per configuration; last line:
 *   determinism: N configurations, M mismatches within a fingerprint, K fingerprints
 * Exit code 1 when M > 0.
 * Usage: npm run determinism [-- --profile frame-threads-2] [-- --no-arm64]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  arm64Machines, makeSource, runLadder, x64Machines, X264_CANDIDATES,
  type LadderRun, type Machine, type SourceSpec,
} from '../media/src/transcode/determinism.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const PROFILE = arg('--profile') ?? 'current';
const ARM64 = !process.argv.includes('--no-arm64');

/** The sources; `arm64` marks the small ones also run under qemu (about 40× slower than native). */
const SOURCES: (SourceSpec & { arm64?: boolean })[] = [
  { name: 'pattern-720p30', kind: 'pattern', width: 1280, height: 720, rate: '30', seconds: 2 },
  { name: 'camera-720p30', kind: 'camera', width: 1280, height: 720, rate: '30', seconds: 2 },
  { name: 'camera-480p29.97-44k-mono', kind: 'camera', width: 854, height: 480, rate: '30000/1001', seconds: 1, sampleRate: 44_100, channels: 1, arm64: true },
  { name: 'pattern-1366x768p30', kind: 'pattern', width: 1366, height: 768, rate: '30', seconds: 1 },
  { name: 'camera-1366x768p30', kind: 'camera', width: 1366, height: 768, rate: '30', seconds: 1 },
  { name: 'camera-640x360p60', kind: 'camera', width: 640, height: 360, rate: '60', seconds: 1, arm64: true },
];

const short = (h: string) => h.slice(0, 10);

/** Mismatching configurations among runs of one source: each run against the first with its fingerprint. */
function mismatches(runs: LadderRun[]): LadderRun[] {
  const first = new Map<string, LadderRun>();
  const bad: LadderRun[] = [];
  for (const r of runs) {
    const ref = first.get(r.fingerprint);
    if (!ref) first.set(r.fingerprint, r);
    else if (JSON.stringify(ref.renditions) !== JSON.stringify(r.renditions)) bad.push(r);
  }
  return bad;
}

async function main() {
  const x264 = X264_CANDIDATES[PROFILE];
  if (!x264) throw new Error(`unknown --profile ${PROFILE} (one of ${Object.keys(X264_CANDIDATES).join(', ')})`);
  const dir = await mkdtemp(join(tmpdir(), 'segmint-determinism-'));
  try {
    const arm = ARM64 ? await arm64Machines(dir) : { machines: [] as Machine[], missing: 'skipped (--no-arm64)' };
    if (arm.missing) console.log(`arm64: not run: ${arm.missing}`);
    console.log(`x264 profile ${PROFILE}: ${JSON.stringify(x264)}`);
    let configurations = 0;
    let bad = 0;
    const fingerprints: string[] = [];
    const label = (fp: string) => `F${fingerprints.indexOf(fp) + 1}`;
    for (const spec of SOURCES) {
      const source = await makeSource(join(dir, 'sources'), spec);
      const machines = [...x64Machines(), ...(spec.arm64 ? arm.machines : [])];
      const runs: LadderRun[] = [];
      for (const m of machines) {
        const r = await runLadder(source, m, join(dir, spec.name, m.name.replace('/', '-')), x264);
        runs.push(r);
        if (!fingerprints.includes(r.fingerprint)) fingerprints.push(r.fingerprint);
        configurations++;
        console.log(`${spec.name} ${m.name} ${(r.ms / 1000).toFixed(1)} s ${label(r.fingerprint)} ${r.renditions.map((x) => `${x.name}=${short(x.fileSha256)}`).join(' ')}`);
      }
      for (const r of mismatches(runs)) console.log(`MISMATCH ${spec.name} ${r.machine.name} within ${label(r.fingerprint)}`);
      bad += mismatches(runs).length;
    }
    for (const fp of fingerprints) console.log(`${label(fp)} ${fp}`);
    console.log(`determinism: ${configurations} configurations, ${bad} mismatches within a fingerprint, ${fingerprints.length} fingerprints`);
    process.exitCode = bad > 0 ? 1 : 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
