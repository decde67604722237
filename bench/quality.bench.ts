/**
 * What the local quality check (media/src/quality/compareRenditions.ts) catches, and what it
 * wrongly flags. Sources: the test pattern and two camera-like sources (a fractal zoom and a pan,
 * both with grain), 720p, a few 2 s segments each. For each segment the reference is the real
 * ladder (transcodeSegment, libx264 veryfast); candidates are honest stand-ins for NVENC (other
 * presets, ±20 % bitrate, CRF, CBR, threads, Debian's ffmpeg build) and tampered encodes (box, logo,
 * blur, freeze, drop, repeat, upscale, starve), each compared rendition by rendition. A segment
 * is flagged when any rendition fails.
 * Per tampering: the per-check detection rate d (flagged / sampled segments) and, at sample rate
 * p over n segments, the per-stream catch probability 1 − (1 − p·d)^n. Honest: flagged / checked.
 * Last line: `quality: K tamperings caught in all, honest false positives N`.
 * Usage: npm run bench:quality [-- --segments 1 --first 0 --rate 0.15 --stream 40 --profiles 720p0,360p0,240p0 --verbose]
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capProfiles, DEFAULT_PROFILES, type RenditionProfile } from '@segmint/protocol';
import { generateSegments, segmentFacts, transcodeSegment } from '@segmint/media';
import { compareRenditions, type CompareRenditionsReturnType } from '../media/src/quality/compareRenditions.js';
import { generateCameraSegments } from '../media/src/quality/cameraSource.js';
import { encodeVariant, honestVariants, TAMPERINGS, type EncodeVariant } from '../media/src/quality/tamperings.js';

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
const PROFILES = argOf('--profiles', '720p0,360p0,240p0').split(',');
const VERBOSE = process.argv.includes('--verbose');

type Tally = { checked: number; flagged: number; worst: CompareRenditionsReturnType[] };

async function sources(dir: string): Promise<{ name: string; file: string }[]> {
  const out: { name: string; file: string }[] = [];
  const count = FIRST + SEGMENTS;
  const add = (name: string, files: string[]) => files.slice(FIRST, count).forEach((file, i) => out.push({ name: `${name}#${FIRST + i}`, file }));
  add('testsrc2', await generateSegments({ dir: join(dir, 'testsrc2'), count }));
  add('zoom', await generateCameraSegments({ dir: join(dir, 'zoom'), count, motion: 'zoom' }));
  add('pan', await generateCameraSegments({ dir: join(dir, 'pan'), count, motion: 'pan' }));
  return out;
}

/** Encodes every profile of one variant and compares each with the reference; true when any fails. */
async function checkSegment(src: { name: string; file: string }, profiles: RenditionProfile[], refDir: string, v: EncodeVariant, dir: string, tally: Tally): Promise<boolean> {
  const fps = segmentFacts(await readFile(src.file)).fps;
  let flagged = false;
  for (const profile of profiles) {
    const out = join(dir, `${profile.name}.ts`);
    await encodeVariant({ input: src.file, profile, sourceFps: fps, variant: v, out });
    const r = await compareRenditions({ candidate: out, reference: join(refDir, `${profile.name}.ts`) });
    if (VERBOSE) console.log(`  ${src.name} ${profile.name} ${v.name}: ${summary(r)}`);
    tally.worst.push(r);
    if (r.verdict === 'fail') flagged = true;
  }
  tally.checked++;
  if (flagged) tally.flagged++;
  return flagged;
}

const summary = (r: CompareRenditionsReturnType) =>
  `${r.verdict} ${r.failures.map((f) => f.code).join(',') || '-'} ssim=${r.minBlockSsim.value} psnr=${r.minBlockPsnr.value} chroma=${r.minBlockChromaPsnr.value} blockDetail=${r.minBlockDetail.value} detail=${r.detailRatio} misaligned=${r.misalignedFrames} frozen=${r.frozenBlocks} frames=${r.frames.candidate}/${r.frames.reference} ${r.compareMs}ms`;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-bench-quality-'));
  const started = performance.now();
  try {
    console.log(`generating segments ${FIRST}–${FIRST + SEGMENTS - 1} of 3 sources (720p, 2 s)…`);
    const srcs = await sources(dir);
    const profiles = capProfiles(DEFAULT_PROFILES, { width: 1280, height: 720 }).filter((p) => PROFILES.includes(p.name));
    const honest = honestVariants();
    const tallies = new Map<string, Tally>([...honest.map((v) => v.name), ...TAMPERINGS].map((k) => [k, { checked: 0, flagged: 0, worst: [] }]));
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
    console.log(`  ${name.padEnd(26)} flagged ${t.flagged}/${t.checked}  min block SSIM ${fmt(min((r) => r.minBlockSsim.value))}, min block PSNR ${min((r) => r.minBlockPsnr.value).toFixed(1)} dB, chroma ${min((r) => r.minBlockChromaPsnr.value).toFixed(1)} dB, min block detail ${fmt(min((r) => r.minBlockDetail.value))}, min detail ${fmt(min((r) => r.detailRatio))}, max misaligned ${-min((r) => -r.misalignedFrames)}, max frozen ${-min((r) => -r.frozenBlocks)}`);
  }
  console.log(`\ntamperings at sample rate p = ${RATE}, stream of n = ${STREAM} segments (catch probability 1 − (1 − p·d)^n)`);
  let caughtAll = 0;
  for (const t of TAMPERINGS) {
    const x = tallies.get(t)!;
    const d = x.flagged / Math.max(1, x.checked);
    if (x.flagged === x.checked && x.checked > 0) caughtAll++;
    const codes = [...new Set(x.worst.flatMap((r) => r.failures.map((f) => f.code)))].join(',');
    console.log(`  ${t.padEnd(8)} detected ${x.flagged}/${x.checked} sampled segments (d = ${fmt(d)}), per-stream catch ${fmt(1 - (1 - RATE * d) ** STREAM)}  [${codes}]`);
  }
  const perCompare = tallies.get(honestNames[0]!)!.worst.map((r) => r.compareMs);
  console.log(`\nhonest segments checked ${honestChecked}, flagged ${falsePositives} (rate ${fmt(falsePositives / Math.max(1, honestChecked))}); compare ${Math.round(perCompare.reduce((a, b) => a + b, 0) / Math.max(1, perCompare.length))} ms per rendition on average; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  console.log(`quality: ${caughtAll} tamperings caught in all, honest false positives ${falsePositives}`);
}

await main();
