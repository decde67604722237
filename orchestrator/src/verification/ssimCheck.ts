/**
 * Quality spot-checks for encoders that do not give the same bytes twice (NVENC and other hardware
 * encoders): their outputs cannot be compared hash for hash with a second worker's, so a sampled
 * segment is compared with its own source instead, rendition by rendition, by SSIM (ffmpeg's
 * `ssim` filter, the source scaled to the rendition's size). An average below the threshold means
 * the output is not a fair encode of that source (wrong or stale content, frozen or blank frames,
 * a starved bitrate). SSIM is a judgement, not a proof anyone can check on-chain: a failing worker
 * loses score and is excluded from auctions for a while, never slashed.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pump } from 'node:stream/promises';
import { ffmpegPath, run } from '@segmint/media';
import type { SegmentJob } from '@segmint/protocol';
import { parseJobId, storageKeys } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { Slots } from './slots.js';

/**
 * Whether results with this encoder fingerprint can be compared hash for hash. Fingerprints are
 * `ffmpeg/VERSION;ENCODER;settings…`: only libx264 with pinned settings is deterministic.
 */
export const hashComparable = (fingerprint: string): boolean => fingerprint.split(';')[1] === 'libx264';

/** Mean SSIM (0–1, "All") of `encoded` against `source` scaled to `width`×`height`. */
export async function ssimAgainstSource(encoded: string, source: string, width: number, height: number): Promise<number> {
  const { stderr } = await run(ffmpegPath(), [
    '-hide_banner', '-nostats', '-i', encoded, '-i', source,
    '-lavfi', `[1:v]scale=${width}:${height}:flags=bicubic,setsar=1[ref];[0:v]setsar=1[out];[out][ref]ssim=shortest=1`,
    '-an', '-f', 'null', '-',
  ], { timeoutMs: 60_000 });
  const all = /SSIM .*All:([0-9.]+)/.exec(stderr)?.[1];
  if (all === undefined) throw new Error('ffmpeg printed no SSIM');
  return Number(all);
}

/**
 * Checks a sampled, published segment of a non-deterministic encoder against its source and
 * records the outcome (`ssim-pass` / `ssim-fail`, each rendition's SSIM, the threshold) in the
 * audit trail. On a failure the worker's score falls, the fault is counted, and it is excluded
 * from auctions for `excludeMs`. At most 2 run at once and 32 wait: a sample beyond that is
 * recorded `ssim-busy` and not checked.
 */
export async function ssimSpotCheck(p: Pipeline, job: SegmentJob, worker: string): Promise<'ssim-pass' | 'ssim-fail' | 'ssim-busy'> {
  const { session } = parseJobId(job.jobId)!;
  if (!(await slots.take())) {
    // The orchestrator's own CPU serves every stream: a long burst of samples is thinned.
    p.metrics.spotChecks.inc({ outcome: 'ssim-busy' });
    const audit = await p.audit.store.get(job.streamId, session, job.seq);
    if (audit) await p.audit.store.put({ ...audit, spotCheck: { outcome: 'ssim-busy' } });
    return 'ssim-busy';
  }
  try {
    return await check(p, job, worker, session);
  } finally {
    slots.release();
  }
}

/** Quality checks running at once on this orchestrator (2), and waiting for a turn (32), at most. */
const slots = new Slots(2, 32);

async function check(p: Pipeline, job: SegmentJob, worker: string, session: number): Promise<'ssim-pass' | 'ssim-fail'> {
  const { ssimThreshold: threshold, ssimExcludeMs } = p.config;
  const dir = await mkdtemp(join(tmpdir(), 'segmint-ssim-'));
  const started = performance.now();
  try {
    const copy = async (key: string, name: string) => {
      const obj = await p.storage.read(key);
      if (!obj) throw new Error(`${key} is gone`);
      await pump(obj.stream, createWriteStream(join(dir, name)));
      return join(dir, name);
    };
    const audit = await p.audit.store.get(job.streamId, session, job.seq);
    const source = await copy(storageKeys.source(job.streamId, session, job.seq), 'source.ts');
    const ssim: Record<string, number> = {};
    for (const x of job.profiles) {
      const encoded = await copy(storageKeys.rendition(job.streamId, x.name, session, job.seq), `${x.name}.ts`);
      const r = audit?.renditions.find((y) => y.name === x.name);
      ssim[x.name] = await ssimAgainstSource(encoded, source, r?.width ?? x.width, r?.height ?? x.height);
    }
    const failed = Object.entries(ssim).filter(([, v]) => v < threshold).map(([k]) => k);
    const outcome = failed.length === 0 ? 'ssim-pass' : 'ssim-fail';
    p.metrics.spotChecks.inc({ outcome });
    if (audit) {
      await p.audit.store.put({
        ...audit,
        spotCheck: { outcome, ssim, ssimThreshold: threshold, mismatched: failed, checkMs: Math.round(performance.now() - started) },
      });
    }
    if (outcome === 'ssim-fail') {
      await p.dispatcher.penalize(worker, { excludeForMs: ssimExcludeMs });
      p.logger.warn({ jobId: job.jobId, worker, ssim, threshold }, 'quality spot-check failed: worker excluded for a while (no slash on SSIM)');
    }
    return outcome;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
