import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';
import { generateSegments } from '../testSource.js';
import { segmentFacts } from '../mpegts.js';
import { transcodeSegment } from '../transcode/transcode.js';
import { compareRenditions, QualityCompareError } from './compareRenditions.js';
import { generateCameraSegments } from './cameraSource.js';
import { closestHonestVariants, encodeVariant, TAMPERINGS, type EncodeVariant } from './tamperings.js';

let dir: string;
const sources: Record<string, string> = {};
// 720p and 360p renditions of one short 720p segment per source (1 s: fast).
const profiles = capProfiles(DEFAULT_PROFILES, { width: 1280, height: 720 }).filter((p) => ['360p0', '720p0'].includes(p.name));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segmint-quality-'));
  sources.testsrc2 = (await generateSegments({ dir: join(dir, 'testsrc2'), count: 1, segmentSec: 1 }))[0]!;
  sources.pan = (await generateCameraSegments({ dir: join(dir, 'pan'), count: 1, segmentSec: 1, motion: 'pan' }))[0]!;
  for (const [name, file] of Object.entries(sources)) {
    await mkdir(join(dir, `ref-${name}`), { recursive: true });
    await transcodeSegment({ input: file, source: segmentFacts(await readFile(file)), profiles, outDir: join(dir, `ref-${name}`) });
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Encodes `variant` of every profile of `source` and compares each with the ladder's reference. */
async function verdicts(source: string, variant: EncodeVariant) {
  const out = [];
  for (const profile of profiles) {
    const file = join(dir, `${source}-${variant.name}-${profile.name}.ts`.replace(/[^\w.-]/g, '_'));
    await encodeVariant({ input: sources[source]!, profile, sourceFps: 30, variant, out: file });
    out.push(await compareRenditions({ candidate: file, reference: join(dir, `ref-${source}`, `${profile.name}.ts`) }));
  }
  return out;
}

describe('compareRenditions', () => {
  it('passes the reference against itself with perfect figures', async () => {
    const ref = join(dir, 'ref-testsrc2', '720p0.ts');
    const r = await compareRenditions({ candidate: ref, reference: ref });
    expect(r).toMatchObject({ verdict: 'pass', failures: [], width: 1280, height: 720, meanPsnr: 100, misalignedFrames: 0, frozenBlocks: 0 });
    expect(r.frames).toEqual({ candidate: 30, reference: 30 });
  });

  it.each(['testsrc2', 'pan'])('passes the honest encoder variants closest to a threshold on %s', async (source) => {
    for (const v of closestHonestVariants()) {
      for (const r of await verdicts(source, v)) expect({ variant: v.name, failures: r.failures }).toEqual({ variant: v.name, failures: [] });
    }
  }, 240_000);

  it.each(TAMPERINGS.flatMap((t) => ['testsrc2', 'pan'].map((s) => [t, s] as const)))('fails %s on %s, with the figures that show it', async (tamper, source) => {
    const results = await verdicts(source, { name: tamper, tamper });
    expect(results.some((r) => r.verdict === 'fail')).toBe(true);
    const failed = results.find((r) => r.verdict === 'fail')!;
    expect(failed.failures.length).toBeGreaterThan(0);
    for (const f of failed.failures) expect(typeof f.value).toBe('number');
  }, 60_000);

  it('fails a rendition of another size, and names unreadable input', async () => {
    const r = await compareRenditions({ candidate: join(dir, 'ref-testsrc2', '360p0.ts'), reference: join(dir, 'ref-testsrc2', '720p0.ts') });
    expect(r.failures).toEqual([{ code: 'size', value: 640 * 360, threshold: 1280 * 720 }]);
    await expect(compareRenditions({ candidate: join(dir, 'nope.ts'), reference: join(dir, 'ref-testsrc2', '720p0.ts') }))
      .rejects.toBeInstanceOf(QualityCompareError);
  });
});
