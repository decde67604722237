import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capProfiles, DEFAULT_PROFILES } from '@segmint/protocol';
import { segmentFacts } from '../mpegts.js';
import { transcodeSegment } from '../transcode/transcode.js';
import { compareRenditions, type QualityFailure, type QualityFailureCode } from './compareRenditions.js';
import { generateContentSegments, type Content } from './cameraSource.js';
import { judgeAgainstSecondOpinion, secondOpinion } from './secondOpinion.js';
import { encodeVariant, type EncodeVariant } from './tamperings.js';

const f = (code: QualityFailureCode, value = 0, threshold = 0): QualityFailure => ({ code, value, threshold });
const codes = (...c: QualityFailureCode[]) => c.map((code) => f(code));

describe('judgeAgainstSecondOpinion', () => {
  it('counts every failure when the honest encode passed', () => {
    expect(judgeAgainstSecondOpinion(codes('block-psnr', 'frame-count'), [])).toEqual({ verdict: 'fail', counted: ['block-psnr', 'frame-count'], unjudged: [] });
  });

  it('leaves out the block luma measures together when the honest encode failed one of them', () => {
    const r = judgeAgainstSecondOpinion(codes('block-detail', 'block-structure'), codes('block-psnr'));
    expect(r.verdict).toBe('inconclusive');
    expect(r.counted).toEqual([]);
    expect(r.unjudged.sort()).toEqual(['block-detail', 'block-psnr', 'block-structure']);
  });

  it('still counts a colour, frame or detail failure the honest encode did not share', () => {
    for (const code of ['block-chroma', 'frame-count', 'frame-alignment', 'detail', 'size'] as const) {
      expect(judgeAgainstSecondOpinion(codes('block-psnr', code), codes('block-psnr', 'block-structure'))).toMatchObject({ verdict: 'fail', counted: [code] });
    }
  });

  it('on starved content counts frozen blocks only far above the threshold', () => {
    const starved = codes('block-structure');
    expect(judgeAgainstSecondOpinion([f('frozen-region', 6, 4)], starved).verdict).toBe('inconclusive');
    expect(judgeAgainstSecondOpinion([f('frozen-region', 16, 4)], starved).verdict).toBe('inconclusive');
    expect(judgeAgainstSecondOpinion([f('frozen-region', 17, 4)], starved)).toMatchObject({ verdict: 'fail', counted: ['frozen-region'] });
    // Not starved: the threshold itself.
    expect(judgeAgainstSecondOpinion([f('frozen-region', 6, 4)], []).verdict).toBe('fail');
  });

  it('leaves out any other measure the honest encode failed too', () => {
    expect(judgeAgainstSecondOpinion(codes('block-chroma'), codes('block-chroma'))).toMatchObject({ verdict: 'inconclusive', counted: [] });
  });
});

// The known hard case (README "Quality checks: thresholds"): a cellular automaton from a 360p
// source at the ladder's 240p rendition, where honest encoders fail the absolute thresholds; and
// a pan, where they do not.
describe('secondOpinion on real encodes', () => {
  let dir: string;
  const profile = capProfiles(DEFAULT_PROFILES, { width: 640, height: 360 }).find((p) => p.name === '240p0')!;
  const sources: Partial<Record<Content, string>> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'segmint-second-opinion-'));
    for (const content of ['life', 'pan'] as const) {
      sources[content] = (await generateContentSegments({ dir: join(dir, content), content, count: 1, width: 640, height: 360 }))[0]!;
      await mkdir(join(dir, `ref-${content}`), { recursive: true });
      await transcodeSegment({ input: sources[content]!, source: segmentFacts(await readFile(sources[content]!)), profiles: [profile], outDir: join(dir, `ref-${content}`) });
    }
  }, 180_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function judge(content: Content, variant: EncodeVariant) {
    const out = join(dir, `${content}-${variant.name}.ts`.replace(/[^\w.-]/g, '_'));
    const reference = join(dir, `ref-${content}`, `${profile.name}.ts`);
    await encodeVariant({ input: sources[content]!, profile, sourceFps: 30, variant, out });
    const candidate = await compareRenditions({ candidate: out, reference });
    if (candidate.verdict === 'pass') return { candidate, second: null };
    return { candidate, second: await secondOpinion({ source: sources[content]!, sourceFps: 30, profile, reference, candidate, dir }) };
  }

  it('finds an honest non-bit-exact encoder on the cellular automaton inconclusive, not failed', async () => {
    const { candidate, second } = await judge('life', { name: 'fake NVENC', preset: 'ultrafast', threads: 0 });
    // Without the second opinion this honest encode would be a false positive.
    expect(candidate.verdict).toBe('fail');
    expect(second).toMatchObject({ verdict: 'inconclusive', counted: [] });
    expect(second!.honest.verdict).toBe('fail');
  }, 120_000);

  it.each(['box', 'logo', 'tint', 'drop', 'repeat', 'starve'] as const)('still fails %s on the cellular automaton', async (tamper) => {
    const { candidate, second } = await judge('life', { name: tamper, tamper });
    expect(candidate.verdict).toBe('fail');
    expect(second!.verdict).toBe('fail');
    expect(second!.counted.length).toBeGreaterThan(0);
  }, 120_000);

  it.each(['blur', 'freeze', 'upscale'] as const)('fails %s on the pan: the honest encode passes, so every failure counts', async (tamper) => {
    const { candidate, second } = await judge('pan', { name: tamper, tamper });
    expect(candidate.verdict).toBe('fail');
    expect(second!.honest.verdict).toBe('pass');
    expect(second).toMatchObject({ verdict: 'fail', unjudged: [] });
  }, 120_000);
});
