import type { SegmentFacts } from '@segmint/media';
import { SOURCE_RENDITION, type SegmentJob, type TranscodeResult } from '@segmint/protocol';
import { storageKeys } from '../../ingest/jobIds.js';
import type { SkipReason } from '../../audit/auditStore.js';
import type { SegmentEntry } from '../../live/liveState.js';
import type { Pipeline } from '../../pipeline.js';
import { hashStored, type FileHash } from '../../hls/segmentSigner.js';

/**
 * Stage 3: moves the winner's renditions into place, then resolves the seq in the live state and
 * publishes whatever is now in order (a playlist never lists a file that is not there). Returns
 * how many segments were published, or -1 when the seq was no longer in flight.
 */
export async function publishResult(p: Pipeline, job: SegmentJob, worker: string, session: number, result: TranscodeResult, facts: Map<string, SegmentFacts | null>): Promise<number> {
  await Promise.all(
    job.profiles.map(async (x) => {
      const to = storageKeys.rendition(job.streamId, x.name, session, job.seq);
      // moved already by an earlier post of this result that a crash cut short
      await p.storage.move(storageKeys.pending(job.jobId, worker, x.name), to).catch(async (err: unknown) => {
        if ((await p.storage.size(to)) === null) throw err;
      });
    }),
  );
  await p.storage.deletePrefix(storageKeys.pendingDir(job.jobId, worker));
  // sha256 of each file as players receive it, for the signed hash sidecar (hls/segmentSigner.ts).
  const names = [SOURCE_RENDITION, ...job.profiles.map((x) => x.name)];
  const keyOf = (name: string) => (name === SOURCE_RENDITION ? storageKeys.source(job.streamId, session, job.seq) : storageKeys.rendition(job.streamId, name, session, job.seq));
  const shas = new Map(await Promise.all(names.map(async (name) => [name, await hashStored(p.storage, keyOf(name))] as const)));
  const renditions: SegmentEntry['renditions'] = {
    [SOURCE_RENDITION]: {
      bytes: (await p.storage.size(storageKeys.source(job.streamId, session, job.seq))) ?? 0,
      ...withHash(shas.get(SOURCE_RENDITION)),
      durationSec: job.source.durationSec,
      width: job.source.width,
      height: job.source.height,
      codecs: job.source.videoCodecString,
      fps: job.source.fps,
    },
  };
  for (const x of job.profiles) {
    const f = facts.get(x.name)!;
    const claimed = result.renditions.find((r) => r.name === x.name)!;
    renditions[x.name] = { bytes: claimed.bytes, durationSec: f.durationSec, width: f.width, height: f.height, codecs: f.videoCodecString, fps: f.fps, ...withHash(shas.get(x.name)) };
  }
  const entry: SegmentEntry = { seq: job.seq, session, durationSec: job.source.durationSec, ingestedAt: job.ingestedAt, renditions };
  return publish(p, job.streamId, job.seq, entry);
}

/** The file's own length and sha256, as players receive it (bytes as read, not as claimed). */
const withHash = (h: FileHash | null | undefined) => (h ? { sha256: h.sha256, bytes: h.bytes } : {});

/**
 * Resolves a seq (entry, or null to skip it), publishes what is now in order, deletes what fell
 * out of retention. Returns how many segments were published, or -1 when the seq was not in flight.
 */
export async function publish(p: Pipeline, streamId: string, seq: number, entry: SegmentEntry | null): Promise<number> {
  const { resolved, published, evicted } = await p.live.resolve(streamId, seq, entry, p.config.hlsWindow + p.config.hlsRetain);
  if (!resolved) return -1;
  const now = Date.now();
  for (const r of published) p.metrics.publishSeconds.observe((now - r.entry.ingestedAt) / 1000);
  p.metrics.segmentsPublished.inc(published.length);
  if (published.length > 0) p.events.emit('published', streamId, published);
  if (evicted.length > 0) {
    const keys = evicted.flatMap((r) =>
      Object.keys(r.entry.renditions).map((name) => storageKeys.rendition(streamId, name, r.entry.session, r.entry.seq, r.entry.rev)),
    );
    await p.storage.delete(keys);
  }
  return published.length;
}

/**
 * Skips a seq of `session` for good (a gap in the playlists, marked as a discontinuity), counted
 * by reason and kept in the audit trail. False when the seq was no longer in flight (published
 * meanwhile) or belongs to an earlier session: a new session's seq with the same number is not it.
 */
export async function skip(p: Pipeline, s: { streamId: string; session: number; seq: number; reason: SkipReason; detail: string }): Promise<boolean> {
  if ((await p.live.meta(s.streamId))?.session !== s.session) return false;
  if ((await publish(p, s.streamId, s.seq, null)) < 0) return false;
  p.metrics.segmentsSkipped.inc({ reason: s.reason });
  await p.audit.store
    .putSkip({ streamId: s.streamId, session: s.session, seq: s.seq, reason: s.reason, detail: s.detail, skippedAt: Date.now() })
    .catch((err) => p.logger.error({ err, ...s }, 'could not record a skipped segment in the audit trail'));
  return true;
}
