/**
 * The catch rate of spot-checks, measured with real processes: an orchestrator (in-process) with
 * spot-check rate p, two honest worker processes and, per seed, a fresh cheater worker process
 * (cheapest ask, so it wins the segments) that encodes a fraction f of its outputs at 70 % of the
 * bitrate (its test-only `--test-cheat-rate`). Per seed a fresh stream gets up to n real MPEG-TS
 * segments (2 s, 320x180, one 160x90 rendition), one at a time, until the cheater is caught.
 * Sampling uses the orchestrator's production randomness; which outputs the cheater alters, the
 * bench counts itself: a published output whose hash differs from the bench's own transcode of
 * the same segment with the same ladder is a cheat.
 *
 * Caught: a spot-check in the audit trail names the cheater faulty, or its faults counter > 0.
 * Compared with the bound 1 − (1 − p·f)ⁿ, averaged over the seeds with each seed's actual n (n
 * minus the segments an honest worker won before the catch). Honest mismatches: spot-checks in
 * which two honest transcodes were compared and disagreed (must be 0).
 * Exit 1 when honest mismatches > 0, an honest output differs from the reference transcode, or the
 * bound lies above the 95 % (Wilson) interval of the measured rate.
 * Last line: `catch rate X.XXX vs bound Y.YYY, honest mismatches N`.
 * Usage: npm run bench:verify [-- --p 0.2 --f 0.25 --n 24 --seeds 20 --cheater-args "--test-nondeterministic 1"]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSegments, segmentFacts, transcodeSegment } from '@segmint/media';
import { openDatabase } from '../orchestrator/src/db/database.js';
import { onlineWorkers, spawnWorker, startTestOrchestrator, stopProcess, waitFor } from '../e2e/helpers.js';
import { runSeed, spawnCheater, type Cheater, type Profile, type SeedResult } from './verifySeed.js';

function arg(name: string, fallback: number, ok: (v: number) => boolean): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!ok(v)) throw new Error(`${name}: bad value ${process.argv[i + 1]}`);
  return v;
}
const P = arg('--p', 0.2, (v) => v > 0 && v <= 1);
const F = arg('--f', 0.25, (v) => v > 0 && v <= 1);
const N = arg('--n', 24, (v) => Number.isInteger(v) && v >= 1 && v <= 500);
const SEEDS = arg('--seeds', 20, (v) => Number.isInteger(v) && v >= 1);
/** More worker flags for the cheater, split on spaces (e.g. "--test-nondeterministic 1"). */
const CHEATER_ARGS = process.argv.includes('--cheater-args') ? (process.argv[process.argv.indexOf('--cheater-args') + 1] ?? '').split(' ').filter(Boolean) : [];
const PROFILES: Profile[] = [{ name: 'low', width: 160, height: 90, bitrate: 100_000 }];
const HONEST = 2;

/** 95 % Wilson score interval of k successes in m trials. */
export function wilson(k: number, m: number, z = 1.96): [number, number] {
  const phat = k / m;
  const denom = 1 + (z * z) / m;
  const centre = (phat + (z * z) / (2 * m)) / denom;
  const half = (z * Math.sqrt((phat * (1 - phat)) / m + (z * z) / (4 * m * m))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** n source segments and the first rendition's sha256 of an honest transcode of each (same ffmpeg, same ladder). */
async function sources(dir: string): Promise<{ segments: Buffer[]; reference: string[] }> {
  const files = await generateSegments({ dir, count: N, segmentSec: 2, width: 320, height: 180, fps: 15 });
  const segments = await Promise.all(files.map((f) => readFile(f)));
  const reference: string[] = [];
  for (const [i, file] of files.entries()) {
    const out = await mkdtemp(join(dir, `ref-${i}-`));
    const { renditions } = await transcodeSegment({ input: file, source: segmentFacts(segments[i]!), profiles: PROFILES, outDir: out });
    reference.push(renditions[0]!.sha256);
  }
  return { segments, reference };
}

function printSeed(i: number, r: SeedResult, bound: number) {
  const caught = r.caught ? `caught${r.caughtAt !== null && r.caughtAt >= 0 ? ` at segment ${r.caughtAt}` : ' (faults counter)'}` : 'not caught';
  console.log(`seed ${String(i + 1).padStart(2)}: pushed ${String(r.pushed).padStart(2)}, cheater won ${String(r.won).padStart(2)}, sampled ${String(r.sampled).padStart(2)}, ` +
    `cheats ${String(r.cheats).padStart(2)} (${r.cheatedAndSampled} sampled), ${caught}, faults ${r.faults}, n ${N - r.lostBeforeCatch}, bound ${bound.toFixed(3)}, ${r.seconds.toFixed(1)} s`);
  for (const d of r.referenceMismatchDetails) console.log(`  unlike the reference transcode: ${d}`);
}

async function main() {
  const t0 = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-verify-'));
  console.log(`p = ${P}, f = ${F}, n = ${N}, ${SEEDS} seeds; generating ${N} 2 s 320x180 segments and their reference transcodes…`);
  const { segments, reference } = await sources(dir);
  const db = await openDatabase();
  const orch = await startTestOrchestrator(db, {
    SEGMINT_SPOTCHECK_RATE: String(P), SEGMINT_HLS_RETAIN: String(N + 4), SEGMINT_DEADLINE_FACTOR: '30',
    SEGMINT_IDLE_TIMEOUT: '600', SEGMINT_API_RATE_LIMIT: '0',
  });
  const honest = Array.from({ length: HONEST }, (_, i) => spawnWorker(orch, ['--concurrency', '1', '--price', String(1000 * (i + 1))]));
  const results: SeedResult[] = [];
  const bounds: number[] = [];
  const cheaters: Cheater[] = [];
  const spawnNext = () => cheaters[cheaters.push(spawnCheater(orch, F, CHEATER_ARGS)) - 1]!;
  try {
    await waitFor(`${HONEST} honest workers online`, async () => (await onlineWorkers(orch)).length === HONEST, 60_000);
    let cheater = spawnNext();
    for (let i = 0; i < SEEDS; i++) {
      const r = await runSeed({ orch, profiles: PROFILES, segments, reference }, cheater, results.at(-1)?.cheater);
      if (i + 1 < SEEDS) cheater = spawnNext();
      const bound = 1 - (1 - P * F) ** (N - r.lostBeforeCatch);
      results.push(r);
      bounds.push(bound);
      printSeed(i, r, bound);
    }
  } finally {
    await Promise.all([...honest, ...cheaters.map((c) => c.child)].map((w) => stopProcess(w)));
    await orch.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
  return report(results, bounds, (performance.now() - t0) / 1000);
}

function report(results: SeedResult[], bounds: number[], seconds: number): number {
  const sum = (f: (r: SeedResult) => number) => results.reduce((s, r) => s + f(r), 0);
  const caught = results.filter((r) => r.caught).length;
  const rate = caught / results.length;
  const [lo, hi] = wilson(caught, results.length);
  const bound = bounds.reduce((s, b) => s + b, 0) / bounds.length;
  const meanN = N - sum((r) => r.lostBeforeCatch) / results.length;
  const honestMismatches = sum((r) => r.honestMismatches);
  const refMismatches = sum((r) => r.referenceMismatches);
  console.log(`draws: sampled ${sum((r) => r.sampled)}/${sum((r) => r.pushed)} segments (p = ${P}), cheated ${sum((r) => r.cheats)}/${sum((r) => r.won)} of the cheater's (f = ${F})`);
  const missed = results.filter((r) => r.cheatedAndSampled > 0 && !r.caught).length;
  console.log(`seeds with a cheated segment sampled: ${sum((r) => (r.cheatedAndSampled > 0 ? 1 : 0))}, of which not caught: ${missed}`);
  console.log(`check transcode time ÷ published transcode time: ${(sum((r) => r.checkTranscodeMs) / Math.max(1, sum((r) => r.transcodeMs))).toFixed(3)} (at p = ${P}, tie-breaks and redos included)`);
  console.log(`honest comparisons ${sum((r) => r.honestComparisons)}, mismatches ${honestMismatches}; honest outputs unlike the bench's reference transcode: ${refMismatches}`);
  console.log(`caught in ${caught}/${results.length} seeds: ${rate.toFixed(3)}, 95 % Wilson [${lo.toFixed(3)}, ${hi.toFixed(3)}]; bound 1 − (1 − p·f)ⁿ at mean n ${meanN.toFixed(1)}: ${bound.toFixed(3)}; ${seconds.toFixed(0)} s`);
  const failures = [
    honestMismatches > 0 ? `${honestMismatches} honest mismatches` : '',
    refMismatches > 0 ? `${refMismatches} honest outputs differ from the reference transcode (cheats cannot be counted)` : '',
    bound > hi ? `the bound ${bound.toFixed(3)} lies above the interval's upper end ${hi.toFixed(3)}` : '',
  ].filter(Boolean);
  for (const f of failures) console.log(`FAIL: ${f}`);
  console.log(`catch rate ${rate.toFixed(3)} vs bound ${bound.toFixed(3)}, honest mismatches ${honestMismatches}`);
  return failures.length > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
