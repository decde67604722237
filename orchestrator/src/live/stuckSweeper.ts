import { segmentFacts } from '@segmint/media';
import { liveKeys, type SegmentJob } from '@segmint/protocol';
import { jobIdOf, storageKeys } from '../ingest/jobIds.js';
import { segmentJob } from '../ingest/segmentIngest.js';
import type { Pipeline } from '../pipeline.js';
import { skip } from '../results/stages/publishResult.js';

/**
 * How long a seq with no job record stays orphaned before it is recovered or skipped. The
 * orchestrator that admitted it may be alive and still storing its source (up to 2 s of retries)
 * before it writes the record; on a loaded machine that took longer than a segment, and skipping
 * it then lost a live segment (the chaos run). A skip cannot be undone: wait well past that.
 */
export const NO_RECORD_GRACE_MS = 15_000;

export type SweepReturnType = { recovered: number; skipped: number };

/** `known`: the active and draining streams when the caller has just read them (the live sweep does). */
/**
 * Owns stuck seqs: a seq left in flight by a crash at any point (between admit and enqueue, in a
 * dead orchestrator's waiting list, between a result's claim and its publish) would hold back
 * every later segment of its playlist for good. Working from Redis alone, every orchestrator's
 * sweep notes when it first saw each seq that nobody is on (no worker's claim, no live
 * orchestrator's waiting list: Dispatcher.orphaned) and, one segment duration later (NO_RECORD_GRACE_MS when its job record is missing), recovers it:
 * the job (rebuilt from the stored source when the crash came before its record) is dispatched
 * again, and from then on the marketplace owns it as any other (deadlines, attempts, give-up).
 * What cannot be recovered (the source was never stored) is skipped, with its reason in the audit
 * trail. Skipping is the live state's own atomic resolve, so a seq is never skipped or published
 * twice.
 */
export async function sweepStuckSeqs(p: Pipeline, now = Date.now(), known?: { active: string[]; draining: string[] }): Promise<SweepReturnType> {
  const total = { recovered: 0, skipped: 0 };
  const draining = known?.draining ?? (await p.live.drainingStreams());
  const active = known?.active ?? (await p.live.activeStreams());
  for (const streamId of new Set([...active, ...draining])) {
    const r = await sweepStream(p, streamId, now);
    total.recovered += r.recovered;
    total.skipped += r.skipped;
  }
  for (const streamId of draining) await p.live.drained(streamId);
  return total;
}

async function sweepStream(p: Pipeline, streamId: string, now: number): Promise<SweepReturnType> {
  const out = { recovered: 0, skipped: 0 };
  const meta = await p.live.meta(streamId);
  if (!meta) return out;
  const seen = `${liveKeys(p.live.prefix, streamId).meta}:seen`;
  const [inflight, ready, sightings] = await Promise.all([p.live.inflightSeqs(streamId), p.live.readySeqs(streamId), p.live.redis.hgetall(seen)]);
  const waiting = inflight.filter((seq) => !ready.includes(seq));
  const orphaned = await p.dispatcher.orphaned(waiting.map((seq) => jobIdOf(streamId, meta.session, seq)));
  const field = (seq: number) => `${meta.session}:${seq}`;
  // A sighting lasts only while the seq stays orphaned: one that anybody took up starts afresh.
  const gone = Object.keys(sightings).filter((k) => !waiting.some((seq) => field(seq) === k && orphaned.has(jobIdOf(streamId, meta.session, seq))));
  if (gone.length > 0) await p.live.redis.hdel(seen, ...gone);
  if (orphaned.size > 0) await p.live.redis.pexpire(seen, 86_400_000);
  for (const seq of waiting) {
    const jobId = jobIdOf(streamId, meta.session, seq);
    if (!orphaned.has(jobId)) continue; // a worker or a live orchestrator is on it: theirs to finish or give up
    const first = await firstSighting(p, seen, field(seq), sightings, now);
    const job = await p.dispatcher.get(jobId);
    if (now - first < (job ? job.source.durationSec * 1000 : NO_RECORD_GRACE_MS)) continue;
    const outcome = await recover(p, streamId, meta.session, seq, job, first);
    if (outcome === 'recovered') out.recovered++;
    if (outcome === 'skipped') out.skipped++;
    if (outcome !== 'busy') await p.live.redis.hdel(seen, field(seq));
  }
  return out;
}

async function firstSighting(p: Pipeline, seen: string, field: string, sightings: Record<string, string>, now: number): Promise<number> {
  if ((await p.live.redis.hsetnx(seen, field, now)) === 1) return now;
  return Number(sightings[field] ?? now);
}

/** Dispatches an orphaned seq again; skips it when its source was never stored. */
async function recover(p: Pipeline, streamId: string, session: number, seq: number, job: SegmentJob | null, firstSeen: number): Promise<'recovered' | 'skipped' | 'busy'> {
  const rebuilt = job ?? (await rebuildJob(p, streamId, session, seq, firstSeen));
  if (!rebuilt) {
    const detail = 'a crash came between its admission and storing its source: nothing to transcode';
    return (await skip(p, { streamId, session, seq, reason: 'stuck', detail })) ? 'skipped' : 'busy';
  }
  if (!(await p.dispatcher.recover(rebuilt))) return 'busy';
  p.metrics.segmentsRecovered.inc();
  p.logger.warn({ streamId, session, seq, rebuilt: job === null }, 'segment orphaned by a crash: dispatched again');
  return 'recovered';
}

/** The job of a seq whose record a crash lost, from its stored source (null: none was stored). */
async function rebuildJob(p: Pipeline, streamId: string, session: number, seq: number, ingestedAt: number): Promise<SegmentJob | null> {
  const [stored, stream] = await Promise.all([p.storage.read(storageKeys.source(streamId, session, seq)), p.streams.get(streamId)]);
  if (!stored || !stream) {
    stored?.stream.destroy();
    return null;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stored.stream) chunks.push(chunk as Buffer);
  return segmentJob(stream, session, seq, segmentFacts(Buffer.concat(chunks)), ingestedAt);
}
