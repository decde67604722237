/**
 * What the local quality check (media/src/quality/compareRenditions.ts) catches, and what it
 * wrongly flags. Sources: 360p (--size), 2 s segments of generated moving content (media/src/quality/
 * cameraSource.ts: test pattern, grainy fractal zoom and pan, a dark grainy pan, fast motion, the
 * test pattern under heavy grain). For each segment the reference is the
 * real ladder (transcodeSegment, libx264 veryfast); candidates are the honest stand-ins for NVENC
 * that came closest to a threshold in calibration (bench/qualityCalibrate.ts runs all of them) and
 * tampered encodes (box, logo, blur, freeze, tint, drop, repeat, upscale, starve), each compared
 * rendition by rendition, as the orchestrator judges them: a rendition that fails gets the honest
 * second opinion (media/src/quality/secondOpinion.ts), which makes it `inconclusive` where the
 * content is too hard to judge (the cellular automaton). A segment is flagged when any rendition
 * fails; inconclusive ones are counted apart (not a fault: the orchestrator's transcode replaces them
 * and every later result of the stream is checked).
 * Per tampering: the per-check detection rate d (flagged / sampled segments) and, at sample rate
 * p over n segments, the per-stream catch probability 1 − (1 − p·d)^n. Honest: flagged / checked.
 * Last line: `quality: K tamperings caught in all, honest false positives N`. A tampering counts as caught in
 * all when no sampled segment of it passed (flagged or inconclusive: it never reaches viewers).
 * Usage: npm run bench:quality [-- --segments 1 --first 0 --rate 0.15 --stream 40 --size 640x360 --profiles 240p0
 *   --contents testsrc2,zoom,pan,dark,fast,grain,life --honest all --verbose]
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capProfiles, DEFAULT_PROFILES, type RenditionProfile } from '@segmint/protocol';
import { segmentFacts, transcodeSegment } from '@segmint/media';
import { compareRenditions, type CompareRenditionsReturnType } from '../media/src/quality/compareRenditions.js';
import { secondOpinion } from '../media/src/quality/secondOpinion.js';
import { generateContentSegments, type Content } from '../media/src/quality/cameraSource.js';
import { closestHonestVariants, encodeVariant, honestVariants, TAMPERINGS, type EncodeVariant } from '../media/src/quality/tamperings.js';

const argOf = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const SEGMENTS = Number(argOf('--segments', '1'));
/** Which segment of each source to start from (runs with different --first see different content). */
const FIRST = Number(argOf('--first', '0'));
// The orchestrator's default SEGMINT_QUALITY_CHECK_RATE: 3 × the spot-check rate 0.05.
const RATE = Number(argOf('--rate', '0.15'));
const STREAM = Number(argOf('--stream', '40'));
const PROFILES = argOf('--profiles', '240p0').split(',');
/** Source size and rendition: the ladder's lowest rendition is where honest encoders differ most. */
const [WIDTH, HEIGHT] = argOf('--size', '640x360').split('x').map(Number) as [number, number];
// Moving content only: on a still picture repeated frames and a starved bitrate change nothing.
// The cellular automaton (life) is where honest encoders differ by as much as a tampering at 240p:
// the second opinion's case (README, Quality checks: thresholds).
const CONTENTS = argOf('--contents', 'testsrc2,zoom,pan,dark,fast,grain,life').split(',') as Content[];
/** The honest variants closest to a threshold in calibration; `--honest all` for every one. */
const HONEST = argOf('--honest', 'closest');
const VERBOSE = process.argv.includes('--verbose');

type Tally = { checked: number; flagged: number; inconclusive: number; worst: CompareRenditionsReturnType[] };

async function sources(dir: string): Promise<{ name: string; file: string }[]> {
  const out: { name: string; file: string }[] = [];
  const count = FIRST + SEGMENTS;
  const add = (name: string, files: string[]) => files.slice(FIRST, count).forEach((file, i) => out.push({ name: `${name}#${FIRST + i}`, file }));
  for (const content of CONTENTS) add(content, await generateContentSegments({ dir: join(dir, content), count, content, width: WIDTH, height: HEIGHT }));
  return out;
}

/** Encodes every profile of one variant and judges each against the reference as the orchestrator does. */
async function checkSegment(src: { name: string; file: string }, profiles: RenditionProfile[], refDir: string, v: EncodeVariant, dir: string, tally: Tally): Promise<void> {
  const fps = segmentFacts(await readFile(src.file)).fps;
  let flagged = false, inconclusive = false;
  for (const profile of profiles) {
    const out = join(dir, `${profile.name}.ts`);
    const reference = join(refDir, `${profile.name}.ts`);
    await encodeVariant({ input: src.file, profile, sourceFps: fps, variant: v, out });
    // Every cost counted: the compare and the second opinion are what the orchestrator runs.
    const r = await compareRenditions({ candidate: out, reference });
    const second = r.verdict === 'fail' ? await secondOpinion({ source: src.file, sourceFps: fps, profile, reference, candidate: r, dir }) : null;
    if (VERBOSE) console.log(`  ${src.name} ${profile.name} ${v.name}: ${summary(r)}${second ? ` → second opinion ${second.verdict} (honest ${second.honest.failures.map((f) => f.code).join(',') || 'pass'})` : ''}`);
    tally.worst.push(r);
    if (second?.verdict === 'fail') flagged = true;
    if (second?.verdict === 'inconclusive') inconclusive = true;
  }
  tally.checked++;
  if (flagged) tally.flagged++;
  else if (inconclusive) tally.inconclusive++;
}

const summary = (r: CompareRenditionsReturnType) =>
  `${r.verdict} ${r.failures.map((f) => f.code).join(',') || '-'} ssim=${r.minBlockSsim.value} psnr=${r.minBlockPsnr.value} structure=${r.minBlockStructurePsnr.value} chroma=${r.minBlockChromaPsnr.value} blockDetail=${r.minBlockDetail.value} detail=${r.detailRatio} misaligned=${r.misalignedFrames} frozen=${r.frozenBlocks} frames=${r.frames.candidate}/${r.frames.reference} ${r.compareMs}ms`;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-quality-'));
  const started = performance.now();
  try {
    console.log(`generating segments ${FIRST}–${FIRST + SEGMENTS - 1} of ${CONTENTS.length} sources (${WIDTH}x${HEIGHT}, 2 s)…`);
    const srcs = await sources(dir);
    const profiles = capProfiles(DEFAULT_PROFILES, { width: WIDTH, height: HEIGHT }).filter((p) => PROFILES.includes(p.name));
    const honest = HONEST === 'all' ? honestVariants() : closestHonestVariants();
    const tallies = new Map<string, Tally>([...honest.map((v) => v.name), ...TAMPERINGS].map((k) => [k, { checked: 0, flagged: 0, inconclusive: 0, worst: [] }]));
    for (const [i, src] of srcs.entries()) {
      const refDir = join(dir, `ref${i}`);
      const work = join(dir, `cand${i}`);
      await mkdir(refDir, { recursive: true });
      await mkdir(work, { recursive: true });
      await transcodeSegment({ input: src.file, source: segmentFacts(await readFile(src.file)), profiles, outDir: refDir });
      for (const v of honest) await checkSegment(src, profiles, refDir, v, work, tallies.get(v.name)!);
      for (const t of TAMPERINGS) await checkSegment(src, profiles, refDir, { name: t, tamper: t }, work, tallies.get(t)!);
      console.log(`segment ${src.name}: ${honest.length} honest variants and ${TAMPERINGS.length} tamperings × ${profiles.length} renditions compared`);
    }
    report(honest.map((v) => v.name), tallies, started);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(honestNames: string[], tallies: Map<string, Tally>, started: number) {
  const fmt = (v: number) => v.toFixed(3);
  console.log(`\nhonest variants (worst over all renditions; thresholds: ${JSON.stringify(tallies.get(honestNames[0]!)!.worst[0]?.thresholds)})`);
  let falsePositives = 0, honestChecked = 0;
  for (const name of honestNames) {
    const t = tallies.get(name)!;
    falsePositives += t.flagged;
    honestChecked += t.checked;
    const min = (f: (r: CompareRenditionsReturnType) => number) => Math.min(...t.worst.map(f));
    console.log(`  ${name.padEnd(31)} flagged ${t.flagged}/${t.checked}, inconclusive ${t.inconclusive}  min block PSNR ${min((r) => r.minBlockPsnr.value).toFixed(1)} dB, structure ${min((r) => r.minBlockStructurePsnr.value).toFixed(1)} dB, chroma ${min((r) => r.minBlockChromaPsnr.value).toFixed(1)} dB, min block detail ${fmt(min((r) => r.minBlockDetail.value))}, min detail ${fmt(min((r) => r.detailRatio))}, max misaligned ${-min((r) => -r.misalignedFrames)}, max frozen ${-min((r) => -r.frozenBlocks)}`);
  }
  console.log(`\ntamperings at sample rate p = ${RATE}, stream of n = ${STREAM} segments (catch probability 1 − (1 − p·d)^n)`);
  let caughtAll = 0;
  for (const t of TAMPERINGS) {
    const x = tallies.get(t)!;
    const d = x.flagged / Math.max(1, x.checked);
    if (x.flagged + x.inconclusive === x.checked && x.checked > 0) caughtAll++;
    const codes = [...new Set(x.worst.flatMap((r) => r.failures.map((f) => f.code)))].join(',');
    console.log(`  ${t.padEnd(8)} detected ${x.flagged}/${x.checked} sampled segments (d = ${fmt(d)}; inconclusive ${x.inconclusive}), caught per tampered segment p·d = ${fmt(RATE * d)}, per-stream catch ${fmt(1 - (1 - RATE * d) ** STREAM)}  [${codes}]`);
  }
  const perCompare = tallies.get(honestNames[0]!)!.worst.map((r) => r.compareMs);
  console.log(`\nhonest segments checked ${honestChecked}, flagged ${falsePositives} (rate ${fmt(falsePositives / Math.max(1, honestChecked))}); compare ${Math.round(perCompare.reduce((a, b) => a + b, 0) / Math.max(1, perCompare.length))} ms per rendition on average; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  console.log(`quality: ${caughtAll} tamperings caught in all, honest false positives ${falsePositives}`);
}

await main();
