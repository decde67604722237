import { liveKeys } from '@segmint/protocol';
import { jobIdOf } from '../ingest/jobIds.js';
import type { Pipeline } from '../pipeline.js';
import { publish } from '../results/stages/publishResult.js';

/** A segment's duration when its job record is gone too (the crash came before the enqueue). */
const DEFAULT_DURATION_SEC = 2;

/**
 * Owns stuck seqs: a seq left in flight by a crash at any point (between admit and enqueue, in a
 * dispatcher's waiting queue, between a result's claim and its publish) would hold back every
 * later segment of its playlist for good. Working from Redis alone, every orchestrator's sweep
 * notes when it first saw each in-flight seq (HSETNX, so the earliest sighting of any of them
 * counts) and skips a seq 2 segment durations after every legitimate deadline of its job has
 * passed (see Dispatcher.lifetime) while no worker holds it. Skipping is the live state's own
 * atomic resolve, so a seq is never skipped or published twice. Returns how many were skipped.
 */
export async function sweepStuckSeqs(p: Pipeline, now = Date.now()): Promise<number> {
  let skipped = 0;
  for (const streamId of await p.live.activeStreams()) {
    const meta = await p.live.meta(streamId);
    if (!meta) continue;
    const seen = `${liveKeys(p.live.prefix, streamId).meta}:seen`;
    const [inflight, ready, sightings] = await Promise.all([p.live.inflightSeqs(streamId), p.live.readySeqs(streamId), p.live.redis.hgetall(seen)]);
    const waiting = inflight.filter((seq) => !ready.includes(seq));
    const gone = Object.keys(sightings).filter((k) => !waiting.includes(Number(k.split(':')[1])) || Number(k.split(':')[0]) !== meta.session);
    if (gone.length > 0) await p.live.redis.hdel(seen, ...gone);
    if (waiting.length > 0) await p.live.redis.pexpire(seen, 86_400_000);
    for (const seq of waiting) {
      const field = `${meta.session}:${seq}`;
      const first = (await p.live.redis.hsetnx(seen, field, now)) === 1 ? now : Number(sightings[field] ?? now);
      const jobId = jobIdOf(streamId, meta.session, seq);
      const job = await p.dispatcher.get(jobId);
      const durationSec = job?.source.durationSec || DEFAULT_DURATION_SEC;
      const life = await p.dispatcher.lifetime({ jobId, durationSec, ingestedAt: Math.min(first, job?.ingestedAt ?? first) });
      if (life.held || now < life.until + 2 * durationSec * 1000) continue;
      if ((await publish(p, streamId, seq, null)) < 0) continue;
      skipped++;
      p.metrics.segmentsSkipped.inc({ reason: 'stuck' });
      p.logger.warn({ streamId, session: meta.session, seq, firstSeen: first }, 'segment stuck in flight past every deadline (a process crashed?): skipped');
    }
  }
  return skipped;
}
