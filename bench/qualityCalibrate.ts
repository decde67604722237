/**
 * Calibration data for the quality check's thresholds: every figure compareRenditions returns, for
 * honest encoder variants (stand-ins for NVENC) and tamperings, on generated content, one JSON line
 * per compared rendition (`--out`, default stdout). `npm run bench:quality` is the verdict-level
 * benchmark; this is the raw data the thresholds in compareRenditions.ts were read from.
 * Usage: tsx bench/qualityCalibrate.ts [--contents testsrc2,pan --size 1280x720 --profiles 720p0,360p0,240p0
 *   --segments 1 --first 0 --out file.jsonl --jobs 2]
 */
import { appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capProfiles, DEFAULT_PROFILES, type RenditionProfile } from '@segmint/protocol';
import { segmentFacts, transcodeSegment } from '@segmint/media';
import { compareRenditions } from '../media/src/quality/compareRenditions.js';
import { CONTENTS, generateContentSegments, type Content } from '../media/src/quality/cameraSource.js';
import { encodeVariant, honestVariants, TAMPERINGS, type EncodeVariant } from '../media/src/quality/tamperings.js';

const argOf = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const CONTENT = argOf('--contents', CONTENTS.join(',')).split(',') as Content[];
const [W, H] = argOf('--size', '1280x720').split('x').map(Number) as [number, number];
const PROFILES = argOf('--profiles', '720p0,360p0,240p0').split(',');
const SEGMENTS = Number(argOf('--segments', '1'));
const FIRST = Number(argOf('--first', '0'));
const OUT = argOf('--out', '');
const JOBS = Number(argOf('--jobs', '2'));
const ONLY = argOf('--variants', '');

function profilesFor(): RenditionProfile[] {
  const ladder = capProfiles(DEFAULT_PROFILES, { width: W, height: H }).filter((p) => PROFILES.includes(p.name));
  // "WxH@bitrate" profiles too (e.g. the e2e test's 320x180@300000).
  const custom = PROFILES.filter((n) => /^\d+x\d+@\d+$/.test(n)).map((n) => {
    const [size, rate] = n.split('@') as [string, string];
    const [w, h] = size.split('x').map(Number) as [number, number];
    return { name: n.replace(/[^\w]/g, '_'), width: w, height: h, bitrate: Number(rate) };
  });
  return [...ladder, ...custom];
}

async function emit(line: object) {
  const s = JSON.stringify(line);
  if (OUT) await appendFile(OUT, s + '\n');
  else console.log(s);
}

async function oneSegment(dir: string, content: string, seg: number, file: string, profiles: RenditionProfile[]) {
  const refDir = join(dir, `ref-${content}-${seg}`);
  await mkdir(refDir, { recursive: true });
  const facts = segmentFacts(await readFile(file));
  await transcodeSegment({ input: file, source: facts, profiles, outDir: refDir });
  const variants: { kind: 'honest' | 'tamper'; v: EncodeVariant }[] = [
    ...honestVariants().map((v) => ({ kind: 'honest' as const, v })),
    ...TAMPERINGS.map((t) => ({ kind: 'tamper' as const, v: { name: t, tamper: t } })),
  ].filter((x) => !ONLY || ONLY.split(',').includes(x.v.name));
  for (const { kind, v } of variants) {
    for (const profile of profiles) {
      const out = join(dir, `${content}-${seg}-${profile.name}-${v.name.replace(/[^\w]/g, '_')}.ts`);
      await encodeVariant({ input: file, profile, sourceFps: facts.fps, variant: v, out });
      const r = await compareRenditions({ candidate: out, reference: join(refDir, `${profile.name}.ts`) });
      await emit({
        kind, variant: v.name, content, seg, profile: profile.name, verdict: r.verdict, failures: r.failures.map((f) => f.code),
        ssim: r.minBlockSsim.value, psnr: r.minBlockPsnr.value, structurePsnr: r.minBlockStructurePsnr.value,
        chroma: r.minBlockChromaPsnr.value, blockDetail: r.minBlockDetail.value, detail: r.detailRatio, misaligned: r.misalignedFrames, frozen: r.frozenBlocks,
        frames: r.frames, meanPsnr: r.meanPsnr, ms: r.compareMs,
      });
      await rm(out, { force: true });
      await rm(`${out}.mpeg4.ts`, { force: true });
    }
  }
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'segmint-quality-calibrate-'));
  try {
    const profiles = profilesFor();
    const work: (() => Promise<void>)[] = [];
    for (const content of CONTENT) {
      const files = await generateContentSegments({ dir: join(dir, `src-${content}`), count: FIRST + SEGMENTS, content, width: W, height: H });
      files.slice(FIRST, FIRST + SEGMENTS).forEach((f, i) => work.push(() => oneSegment(dir, content, FIRST + i, f, profiles)));
    }
    let next = 0;
    await Promise.all(Array.from({ length: JOBS }, async () => { while (next < work.length) await work[next++]!(); }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
